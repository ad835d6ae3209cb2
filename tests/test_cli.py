"""`python -m charrnn train`: the contract other tools rely on."""
import json
import subprocess
import sys

import pytest


def strict(line: str):
    """json.loads as jq or JavaScript read it: NaN and Infinity are errors."""
    def refuse(name):
        raise ValueError(f"not JSON: {name}")
    return json.loads(line, parse_constant=refuse)


def run_cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "charrnn", "train", *args],
                          capture_output=True, text=True, timeout=timeout)


def test_json_lines_per_epoch_then_final():
    r = run_cli("--num-epochs", "3", "--num-hiddens", "64", "--json")
    assert r.returncode == 0, r.stderr
    lines = [strict(x) for x in r.stdout.splitlines()]
    assert [x["epoch"] for x in lines[:-1]] == [1, 2, 3]
    assert all(set(x) == {"epoch", "perplexity", "val_perplexity", "tokens_per_s"}
               for x in lines[:-1])
    final = lines[-1]
    assert final["final"] is True and final["status"] == "finished"
    assert final["vocab_size"] == 28 and final["num_tokens"] == 10000
    assert final["sample"].startswith("time traveller ") and final["seconds"] > 0
    assert final["perplexity"] == lines[-2]["perplexity"] < 28
    # validation: the book's tokens after d2l's 10,000, said so, measured every epoch
    assert final["val_source"] == "after" and final["val_tokens"] == 500
    assert final["val_perplexity"] == lines[-2]["val_perplexity"] < 28
    assert all(1 < x["val_perplexity"] < 28 for x in lines[:-1])


def test_readable_summary_without_json():
    r = run_cli("--num-epochs", "2", "--num-hiddens", "32")
    assert r.returncode == 0, r.stderr
    assert "status finished" in r.stdout and "tokens/s" in r.stdout
    assert "epoch 2/2" in r.stderr and "vocabulary 28" in r.stderr
    assert "validation: the 500 tokens after the training slice (held out)" in r.stderr
    assert "(validation " in r.stdout


def test_a_corpus_with_nothing_after_the_slice_holds_out_its_tail(tmp_path):
    f = tmp_path / "book.txt"
    f.write_text("the quick brown fox jumps over the lazy dog " * 60, "utf-8")
    r = run_cli("--corpus", str(f), "--max-tokens", "-1", "--num-epochs", "1",
                "--num-hiddens", "16", "--batch-size", "4", "--num-steps", "8",
                "--val-fraction", "0.2")
    assert r.returncode == 0, r.stderr
    assert ("validation: the text's last 528 tokens are held out (training sees the first "
            "2,112); 105 of them are measured each epoch") in r.stderr


@pytest.mark.parametrize("args, message", [
    (["--num-hiddens", "0"], "num_hiddens must be between 1 and 4096"),
    (["--lr", "nan"], "lr must be a finite number"),
    (["--batch-size", "abc"], "--batch-size: batch_size must be a whole number between 1 and 1024"),
    (["--device", "cuda:7"], "not available"),
    (["--corpus", "/nonexistent.txt"], "No such corpus file"),
    (["--model", "transformer"], "invalid choice"),
])
def test_bad_input_is_one_line_and_non_zero(args, message):
    r = run_cli(*args, "--num-epochs", "1")
    assert r.returncode != 0
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "Traceback" not in r.stderr


def test_binary_file_is_refused(tmp_path):
    f = tmp_path / "x.bin"
    f.write_bytes(b"\x00\x01\x02" * 1000)
    r = run_cli("--corpus", str(f))
    assert r.returncode == 2 and "binary" in r.stderr


def test_divergence_exits_non_zero_with_status():
    r = run_cli("--lr", "1e6", "--theta", "none", "--num-epochs", "20", "--json")
    final = json.loads(r.stdout.splitlines()[-1])
    assert r.returncode == 3 and final["status"] == "diverged"
    assert "Diverged at step" in final["message"]


def test_every_json_line_parses_strictly_and_non_finite_numbers_are_null():
    """A run that diverges in its first epoch has no perplexity: null, not NaN."""
    r = run_cli("--lr", "100", "--theta", "none", "--num-epochs", "3", "--num-hiddens", "64",
                "--json")
    assert r.returncode == 3, r.stderr
    lines = [strict(x) for x in r.stdout.splitlines()]
    assert lines[-1]["final"] is True and lines[-1]["status"] == "diverged"
    assert lines[-1]["perplexity"] is None and lines[-1]["val_perplexity"] is None
    assert isinstance(lines[-1]["seconds"], float)
