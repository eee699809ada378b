from core.text import int_or_text, shown, split_list


def test_a_comma_list_keeps_its_non_empty_parts_in_order():
    assert split_list(" openai, ,deepseek ,, mistral ") == ["openai", "deepseek", "mistral"]
    assert split_list("") == []


def test_a_typed_number_becomes_an_integer_and_anything_else_stays_text_for_validation():
    assert int_or_text("30") == 30
    assert int_or_text("-1") == -1
    assert int_or_text("thirty") == "thirty"
    assert int_or_text("3.5") == "3.5"


def test_a_value_is_shown_in_words_and_a_missing_one_as_the_caller_says():
    assert shown(["soc2", "iso27001"], missing="—") == "soc2, iso27001"
    assert shown([], missing="—") == "none"
    assert shown(30, missing="—") == "30"
    assert shown(None, missing="not given") == "not given"
    assert shown("", missing="not given") == "not given"
    assert shown(None, missing=None) is None
    assert shown(False, missing="—") == "False"
