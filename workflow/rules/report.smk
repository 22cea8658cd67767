# The report: results/report.html and provenance.
