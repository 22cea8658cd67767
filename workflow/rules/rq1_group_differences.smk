# Research question 1c: Black vs White ratings with controls (Exhibit 28).
