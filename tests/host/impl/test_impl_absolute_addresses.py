"""The bundled implementation at the absolute addresses (impl/addresses.py ABSOLUTE): the
addresses it passes, a handle bound at one meaning it even after the call failed, and a case
naming @zero refused with status error where vm.mmap_min_addr is 0."""
from impl_cases import anon, case, run, step

from sharespec.impl import addresses, executor


def test_the_kernel_address_is_refused_and_its_failed_handle_means_it():
    results = run([anon("T0", "M0", at=("@kernel", 0, 0), fixed="replace"),
                   step("T0", "munmap", at="M0", length=4096),
                   step("T0", "munmap", at=("@kernel", 0, 0), length=4096),
                   step("T0", "mprotect", at=("@kernel", 0, 0), length=4096, prot="r")])
    assert results == ["ENOMEM", "EINVAL", "EINVAL", "ENOMEM"]   # M0 is @kernel, not a slot


def test_root_maps_the_nil_page_and_unmaps_it():
    results = run([anon("T0", "M0", at=("@zero", 0, 1), fixed="replace"),
                   anon("T0", "M1", at=("@zero", 0, 0), fixed="replace"),
                   step("T0", "munmap", at="M1", length=4096),
                   step("T0", "mprotect", at=("@zero", 0, 0), length=4096, prot="r")])
    assert results[0] == "EINVAL" and results[1] in ("ok", "EACCES", "EPERM")
    assert results[2:] == ["ok", "ENOMEM"]


def test_a_nil_page_case_is_an_error_where_anyone_may_map_page_0(tmp_path, monkeypatch):
    setting = tmp_path / "mmap_min_addr"
    setting.write_text("0\n")
    monkeypatch.setattr(addresses, "MMAP_MIN_ADDR", str(setting))
    observation = executor.run_case(case([step("T0", "munmap", at=("@zero", 0, 0),
                                               length=4096)]))
    assert observation["status"] == "error" and "mmap_min_addr" in observation["detail"]
    setting.write_text("65536\n")
    observation = executor.run_case(case([step("T0", "munmap", at=("@zero", 0, 0),
                                               length=4096)]))
    assert observation["status"] == "done" and observation["results"] == ["ok"]
