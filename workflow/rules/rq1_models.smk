# Research question 1, structural models: each model fitted once per sample; exhibits read the saved fits (Exhibits 12-31).
