"""The offline evaluator: CSV reading, the three methods and the report."""

from pathlib import Path

import pytest

from research.consensus.evaluate import CrowdDataError, evaluate_files, main, read_answers

ANSWERS = """item,worker,label
t1,ann,a
t1,bob,a
t1,cy,b
t2,ann,b
t2,bob,b
t2,cy,b
t3,ann,a
t3,bob,b
t3,bob,a
t3,cy,a
t4,cy,b
"""
TRUTH = """item,truth
t1,a
t2,b
t3,a
t9,a
"""


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    answers, truth = tmp_path / "answers.csv", tmp_path / "truth.csv"
    answers.write_text(ANSWERS)
    truth.write_text(TRUTH)
    return answers, truth


def test_dawid_skene_report(files: tuple[Path, Path]) -> None:
    report = evaluate_files(*files)
    assert report.answers_read == 11
    assert report.repeats == 1
    assert report.answers_used == 10
    assert report.items == 4
    assert report.items_decided == 4
    assert report.gold_items == 3
    assert report.gold_without_answers == 1
    assert report.accuracy == pytest.approx(1.0)
    assert report.prequential_accuracy == pytest.approx(1.0)
    text = report.render()
    assert "1.0000 (3/3)" in text
    assert "at the time" in text
    assert "1 repeats" in text


def test_majority_report(files: tuple[Path, Path]) -> None:
    report = evaluate_files(*files, method="majority")
    assert report.accuracy == pytest.approx(1.0)
    assert report.prequential_accuracy is None
    assert "at the time" not in report.render()


def test_quorum_leaves_items_undecided(files: tuple[Path, Path]) -> None:
    report = evaluate_files(*files, method="quorum", required=3, max_answers=3)
    # t2 is accepted (b, b, b); t1 fails at its third answer; t3 fails as soon as bob's first
    # answer disagrees with ann's (his change of mind comes after the outcome was settled);
    # t4 stays open with one answer
    assert report.items_decided == 1
    assert report.items_undecided == 3
    assert report.gold_decided == 1
    assert report.gold_correct == 1
    assert report.answers_used == 3 + 3 + 2 + 1
    assert report.accuracy == pytest.approx(1 / 3)
    assert "undecided gold items count as wrong" in report.render()


def test_quorum_ignores_answers_after_settling(tmp_path: Path) -> None:
    answers, truth = tmp_path / "a.csv", tmp_path / "t.csv"
    answers.write_text("item,worker,label\nt,w1,x\nt,w2,x\nt,w3,y\nt,w4,y\n")
    truth.write_text("item,truth\nt,x\n")
    report = evaluate_files(answers, truth, method="quorum", required=2, max_answers=4)
    assert report.answers_used == 2
    assert report.accuracy == 1.0


def test_unknown_method(files: tuple[Path, Path]) -> None:
    with pytest.raises(ValueError, match="unknown method"):
        evaluate_files(*files, method="oracle")


@pytest.mark.parametrize(("content", "line"), [
    ("item,worker,label\nt1,ann,a\nt2,bob\n", 3),
    ("item,worker,label\nt1,ann,a\nt2,,b\n", 3),
    ("item,label,worker\nt1,a,ann\n", 1),
    ("", 1),
])
def test_malformed_rows_name_file_and_line(tmp_path: Path, content: str, line: int) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(CrowdDataError, match=rf"bad\.csv:{line}:"):
        read_answers(path)


def test_conflicting_gold_labels(files: tuple[Path, Path]) -> None:
    files[1].write_text("item,truth\nt1,a\nt1,b\n")
    with pytest.raises(CrowdDataError, match=r"truth\.csv:3: item 't1' has two gold labels"):
        evaluate_files(*files)


def test_missing_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(CrowdDataError, match="cannot read"):
        read_answers(tmp_path / "absent.csv")


def test_the_command_prints_the_report_or_the_data_error(
        files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    answers, truth = files
    assert main(["--answers", str(answers), "--truth", str(truth), "--method", "quorum"]) == 0
    assert "fixed quorum" in capsys.readouterr().out
    assert main(["--answers", str(answers.with_name("absent.csv")), "--truth", str(truth)]) == 2
    assert "absent.csv: cannot read" in capsys.readouterr().err
