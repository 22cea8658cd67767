# Research question 2: frequency, duration and quality of collaboration (Exhibits 32-39).
