"""Tables read as a reader expects: no index, yes/no, whole lists, and the DataFrame still
computes as before."""

from __future__ import annotations

import pandas as pd
import pytest

from ipsbook import profiles
from ipsbook.display import ReadableFrame, readable, readable_value


def test_cells_read_as_words():
    assert readable_value(True) == "yes" and readable_value(False) == "no"
    assert readable_value((1, 2.5)) == "1, 2.5"
    assert readable_value({"patience": 8, "lr": (0.5,)}) == "patience 8; lr 0.5"
    assert readable_value(3.25) == 3.25 and readable_value("a") == "a"


def test_shown_without_index_and_whole():
    long = "x" * 120
    frame = pd.DataFrame({"ok": [True, False], "text": [long, "b"]}, index=[7, 8])
    shown = readable(frame)
    text, html = repr(shown), shown._repr_html_()
    assert long in text and long in html  # nothing cut to "xxx..."
    assert "yes" in text and "True" not in text
    assert "<th>7</th>" not in html and "7" not in text.split("\n")[1][:3]
    with_index = readable(frame, index=True)._repr_html_()
    assert "<th>7</th>" in with_index


def test_still_the_same_dataframe():
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [True, False]})
    shown = readable(frame)
    assert isinstance(shown, ReadableFrame)
    pd.testing.assert_frame_equal(pd.DataFrame(shown), frame)
    derived = shown[shown["b"]]
    assert type(derived) is pd.DataFrame  # operations give ordinary frames back
    assert shown["a"].sum() == 3.0


def test_bad_input_is_named():
    with pytest.raises(TypeError, match="frame=list"):
        readable([1, 2])


def test_profile_table_shows_every_size_whole():
    table = profiles.table("mst")
    assert list(table.columns) == ["size", *profiles.PROFILES]
    assert "..." not in repr(table)
