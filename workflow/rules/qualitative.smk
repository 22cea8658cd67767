# Published qualitative counts: focus groups and teacher interviews.
