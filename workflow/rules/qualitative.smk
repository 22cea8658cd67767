# Published qualitative counts: focus groups and teacher interviews. The counts are the
# report's own (the transcripts are not public); they are analysed as published, with exact
# tests suited to such small numbers.


rule exFG_focus_group_counts:
    """Coded focus-group remarks in all-Black vs mixed-race groups (exact tests, caveats)."""
    input:
        focus_group_counts="data/published/focus_group_counts.csv",
        totals="data/published/qualitative_totals.csv",
        published=config["published_values"],
        code=shared_code("exFG_focus_group_counts.py"),
    output:
        **exhibit_outputs("FG", figure=False),
    log:
        f"{RESULTS}/logs/exFG.log",
    benchmark:
        f"{RESULTS}/benchmarks/exFG.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/exFG_focus_group_counts.py"


rule exTI_teacher_interview_counts:
    """Coded teacher-interview counts as shares with exact CIs and tests."""
    input:
        totals="data/published/qualitative_totals.csv",
        code=shared_code("exTI_teacher_interview_counts.py"),
    output:
        **exhibit_outputs("TI", figure=False),
    log:
        f"{RESULTS}/logs/exTI.log",
    benchmark:
        f"{RESULTS}/benchmarks/exTI.tsv"
    conda:
        CONDA_ENV
    script:
        "../scripts/exTI_teacher_interview_counts.py"
