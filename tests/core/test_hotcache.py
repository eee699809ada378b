from core.hotcache import built_from


def test_what_is_built_from_an_entry_is_built_once_while_the_entry_is_the_same_object():
    calls = []

    def build(entry):
        calls.append(entry)
        return {"built from": entry["v"]}

    entry = {"v": 1}
    first = built_from("test:a", (entry,), build)
    assert built_from("test:a", (entry,), build) is first
    assert calls == [entry]


def test_a_reloaded_entry_is_built_again_even_when_it_is_equal():
    entry, reloaded = {"v": 1}, {"v": 1}
    first = built_from("test:b", (entry,), lambda e: object())
    assert built_from("test:b", (reloaded,), lambda e: object()) is not first


def test_every_source_must_be_the_same_object():
    account, key = {"a": 1}, {"k": 1}
    first = built_from("test:c", (account, key), lambda a, k: object())
    assert built_from("test:c", (account, {"k": 1}), lambda a, k: object()) is not first
