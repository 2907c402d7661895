"""sharespec explain and the pictures a failing run writes."""
import shutil
import subprocess
import sys


from sharespec.cli import main

SMALL = """case small-wipe
profile linux
rules R41
origin handwritten

T0: M0 = mmap(anon, private, rw, 4096)
T0: write(M0, 1)
T0: madvise(M0, 4096, wipeonfork)
T0: T1 = fork()
T1: read(M0)
"""


def test_dot_marks_the_page_of_the_step(tmp_path, capsys):
    out = tmp_path / "g.dot"
    assert main(["explain", "r41-wipeonfork", "--step", "6", "--out", str(out)]) == 0
    dot = out.read_text()
    assert "cluster_before" in dot and "cluster_expected" in dot
    assert '"before_page_1_0" [label="P1:0", shape=box, color=red' in dot
    assert "expected 0" in dot


def test_svg_needs_graphviz(tmp_path, capsys):
    out = tmp_path / "g.svg"
    status = main(["explain", "r41-wipeonfork", "--out", str(out)])
    if shutil.which("dot") is None:
        assert status == 2 and not out.exists()
        assert "Graphviz" in capsys.readouterr().err
    else:
        assert status == 0 and out.read_text().lstrip().startswith(("<?xml", "<svg"))


def test_bad_usage_exits_2(tmp_path):
    assert main(["explain", "r41-wipeonfork", "--out", str(tmp_path / "g.txt")]) == 2
    assert main(["explain", "r41-wipeonfork", "--step", "99", "--out", str(tmp_path / "g.dot")]) == 2


def test_a_failing_run_writes_pictures_and_a_diagnosis(tmp_path):
    case = tmp_path / "small-wipe.case"
    case.write_text(SMALL)
    out = tmp_path / "failures"
    done = subprocess.run([sys.executable, "-m", "sharespec", "run", "--case", str(case),
                           "--impl", "mutant:wipeonfork-ignored", "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "shrunk 5 -> " in done.stdout and "behaves like wipeonfork-ignored" in done.stdout
    dot = (out / "small-wipe" / "small-wipe.dot").read_text()
    assert "observed 1 (NOT ALLOWED)" in dot and "color=red" in dot
    # explain reads the observation written beside the shrunk case
    picture = tmp_path / "again.dot"
    assert main(["explain", str(out / "small-wipe" / "small-wipe.case"), "--out", str(picture)]) == 0
    assert "NOT ALLOWED" in picture.read_text()


# --- frames steps: the observed partition against the predicted one -------------------------

COW_OBSERVED = ["ok", "frames(A/B;A=-,B=-)", "0", "ok", "frames(A/B;A=pz,B=pe)", "ok"]


def _frames_dot(tmp_path, capsys, seventh: str, step: str = "7") -> tuple:
    """explain r11-frames-cow at its step 7 (predicted frames(A,B/C,D;A=pz,B=pz,C=p,D=p)) with
    ``seventh`` as the observation there."""
    import json
    obs = tmp_path / "obs.json"
    obs.write_text(json.dumps({"results": COW_OBSERVED + [seventh]}))
    out = tmp_path / "f.dot"
    assert main(["explain", "r11-frames-cow", "--step", step, "--observed", str(obs),
                 "--out", str(out)]) == 0
    return out.read_text(), capsys.readouterr().out


def _place(dot: str, letter: str) -> str:
    (line,) = [l for l in dot.splitlines() if l.strip().startswith(f'"frames_{letter}" [')]
    return line


def test_a_frames_step_draws_predicted_against_observed_classes(tmp_path, capsys):
    # C and D should still share the parent's frame (no write since fork): observed apart
    dot, said = _frames_dot(tmp_path, capsys, "frames(A,B/C/D;A=pz,B=pz,C=pe,D=pe)")
    assert "cluster_frames" in dot and "NOT ALLOWED" in dot
    assert "color=red" not in _place(dot, "A") and "color=red" not in _place(dot, "B")
    assert "color=red" in _place(dot, "C") and "color=red" in _place(dot, "D")
    assert "predicted p\\nobserved pe" in _place(dot, "C")
    assert ('"frames_A" -> "frames_B" [dir=none, label="predicted and observed same frame", '
            'color=black]') in dot
    assert ('"frames_C" -> "frames_D" [dir=none, label="predicted same frame", color=red, '
            'style=dashed]') in dot
    assert "frame places disagreeing: C, D" in said


def test_an_unpredicted_shared_frame_is_an_observed_only_edge(tmp_path, capsys):
    # C observed in the zero page with A and B: C joins a class it should not (flags too), A
    # and B keep their flags but their class grew, D has the right flags but lost its partner
    dot, said = _frames_dot(tmp_path, capsys, "frames(A,B,C/D;A=pz,B=pz,C=pz,D=p)")
    assert {l for l in "ABCD" if "color=red" in _place(dot, l)} == {"A", "B", "C", "D"}
    assert "predicted p\\nobserved p\"" in _place(dot, "D")
    assert ('"frames_A" -> "frames_C" [dir=none, label="observed same frame", color=red, '
            'style=solid]') in dot
    assert ('"frames_C" -> "frames_D" [dir=none, label="predicted same frame", color=red, '
            'style=dashed]') in dot
    assert "frame places disagreeing: A, B, C, D" in said


def test_a_hidden_partition_is_judged_on_its_flags(tmp_path, capsys):
    # no frame numbers: only D's flags (pe, predicted p) disagree; no observed edges at all
    dot, said = _frames_dot(tmp_path, capsys, "frames(?;A=p,B=p,C=p,D=pe)")
    assert {l for l in "ABCD" if "color=red" in _place(dot, l)} == {"D"}
    assert "observed same frame" not in dot and "flags only" in dot
    assert "frame places disagreeing: D" in said


def test_a_frames_step_without_observation_draws_the_prediction(tmp_path):
    out = tmp_path / "p.dot"
    assert main(["explain", "r11-frames-cow", "--step", "7", "--out", str(out)]) == 0
    dot = out.read_text()
    assert "color=red" not in dot.split("cluster_frames")[1]
    assert '"frames_C" -> "frames_D" [dir=none, label="predicted same frame", color=blue' in dot


def test_an_observation_that_is_not_json_is_refused_naming_the_place(tmp_path, capsys):
    obs = tmp_path / "obs.json"
    obs.write_text('{"results": ["ok",\n oops]}\n')
    assert main(["explain", "r41-wipeonfork", "--observed", str(obs),
                 "--out", str(tmp_path / "g.dot")]) == 2
    assert f"{obs}: line 2 column 2: not JSON: Expecting value" in capsys.readouterr().err
    assert not (tmp_path / "g.dot").exists()
