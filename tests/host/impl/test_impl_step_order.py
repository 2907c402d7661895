"""Steps run in the case's order, whatever thread or process makes them: a segment used right
after the shmget that made it (or failed to), a process that dies in the middle of a run of its
own steps, threads and processes that interleave, a step far outside the slots, and a chain of
processes with many pipes."""
from impl_cases import anon, case, read, rmid, run, run_case, shmat, shmget, stat, step, write


def test_a_segment_made_earlier_in_the_batch_is_the_one_used():
    assert run([shmget("T0", "S0", key="k", excl=True), shmget("T0", "S1", key="k", excl=True),
                shmat("T0", "A0", "S0"), shmat("T0", "A1", "S1"), write("T0", "A0", 9),
                stat("T0", "S0"), rmid("T0", "S0")]) == [
        "new", "EEXIST", "ok", "EINVAL", "ok", "stat(nattch=1,segsz=4096,dest=0,key=k)", "ok"]


def test_a_process_that_dies_mid_batch_has_its_earlier_answers_and_later_steps_dead():
    assert run([anon("T0", "M0", length=8192), write("T0", "M0", 1),
                step("T0", "mprotect", at="M0", length=4096, prot="r"), read("T0", "M0"),
                write("T0", "M0", 2), read("T0", ("M0", 1)), step("T0", "fork", "T1")]) == [
        "ok", "ok", "ok", "1", "SIGSEGV", "dead", "dead"]


def test_batches_of_two_threads_and_two_processes_interleave_in_case_order():
    assert run([anon("T0", "M0", shared=True), step("T0", "spawn", "T1"),
                write("T1", "M0", 3), step("T1", "fork", "T2"), read("T2", "M0"),
                write("T2", "M0", 4), step("T2", "exit"), read("T1", "M0"), read("T0", "M0"),
                step("T1", "thread_exit"), read("T0", "M0")]) == [
        "ok", "ok", "ok", "ok", "3", "ok", "ok", "4", "4", "ok", "4"]


def test_a_step_beyond_the_case_window_is_made_alone_and_the_rest_still_runs():
    observation = run_case(case([anon("T0", "M0"), write("T0", "M0", 5),
                                 step("T0", "madvise", at="M0", length=2 ** 40,
                                      advice="dontneed"),
                                 read("T0", "M0")]), 10)
    assert observation["status"] == "done"
    assert observation["results"][:2] == ["ok", "ok"]
    assert observation["results"][2] in ("ENOMEM", "EINVAL", "ok")


def test_a_chain_of_131_processes_has_its_pipes_and_sees_the_first_attach():
    steps = [shmget("T0", "S0"), shmat("T0", "A0", "S0"), write("T0", "A0", 9)]
    for index in range(1, 131):
        steps.append(step("T%d" % (index - 1), "fork", "T%d" % index))
    steps.append(read("T130", "A0"))
    observation = run_case(case(steps), 60)
    assert observation["status"] == "done", observation
    assert observation["results"][-1] == "9"
