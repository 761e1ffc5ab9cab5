import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from engagements.participants import parse_participant_csv, parse_participant_lines


def test_lines_in_every_common_shape():
    people = parse_participant_lines(
        'Ada Lovelace <ADA@example.com>\n"Bob B" <bob@example.com>\ncy@example.com\n'
        "Dee Dee, dee@example.com\neve@example.com, Eve E\n\nada@example.com"
    )
    assert [(p.name, p.email) for p in people] == [
        ("Ada Lovelace", "ada@example.com"),
        ("Bob B", "bob@example.com"),
        ("cy", "cy@example.com"),
        ("Dee Dee", "dee@example.com"),
        ("Eve E", "eve@example.com"),
    ]


def test_bad_lines_are_reported_by_number():
    with pytest.raises(ValidationError) as error:
        parse_participant_lines("ok@example.com\nnot an email\nAda <broken@>")
    messages = error.value.messages
    assert any(m.startswith("Line 2:") for m in messages)
    assert any(m.startswith("Line 3:") for m in messages)


def test_a_line_of_separators_is_an_error_not_a_crash():
    with pytest.raises(ValidationError, match="Line 1"):
        parse_participant_lines(";")


def test_csv_with_header_any_order_and_bom():
    people = parse_participant_csv("\ufeffE-mail,Name\nx@example.com,X Person\n,\n".encode())
    assert [(p.name, p.email) for p in people] == [("X Person", "x@example.com")]


def test_csv_that_is_not_utf8_is_refused_clearly():
    with pytest.raises(ValidationError, match="UTF-8"):
        parse_participant_csv(b"\xff\xfe\x00n\x00a")


@given(st.text(max_size=300))
def test_any_text_either_parses_or_says_why(text):
    try:
        people = parse_participant_lines(text)
    except ValidationError as error:
        assert error.messages
    else:
        assert all("@" in p.email for p in people)
