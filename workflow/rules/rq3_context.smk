# Research question 3: teachers' benefits, challenges and leader support (Exhibits 40-44).
