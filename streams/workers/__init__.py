"""Worker quality: grading answers, estimating each worker's accuracy, blocking, paying."""
