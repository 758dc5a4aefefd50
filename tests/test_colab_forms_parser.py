"""Colab's form annotations read from cell sources (every field kind, titles, markdown, bad
annotations), and the values a field change gives: the Python value, the source text and the line
it rewrites. Pure functions: no shell, no widgets."""

from __future__ import annotations

import datetime

import pytest

from colabmagic.colab.form_annotations import Field, Markdown, parse_form
from colabmagic.colab.form_syntax import AnnotationError, comment_start, read_literals
from colabmagic.colab.form_values import FieldValueError, choose, entry_for, rewrite, source_entry

# Colab's own "Forms" example notebook, field for field
COLAB_EXAMPLE = '''#@title Example form fields { run: "auto", display-mode: "form" }
#@markdown Forms support many types of fields.
text = 'value' #@param {type:"string"}
dropdown = '1st option' #@param ["1st option", "2nd option", "3rd option"]
text_and_dropdown = 'value' #@param ["1st option", "2nd option", "3rd option"] {allow-input: true}
raw_input = None #@param {type:""}
raw_dropdown = raw_input #@param [1, "raw_input", "False", "'string'"] {type:"raw"}
date_input = '2018-03-22' #@param {type:"date"}
number_input = 10.0 #@param {type:"number"}
number_slider = 0 #@param {type:"slider", min:-1, max:1, step:0.1}
integer_input = 10 #@param {type:"integer"}
integer_slider = 1 #@param {type:"slider", min:0, max:100, step:1}
boolean_checkbox = True #@param {type:"boolean"}
boolean_dropdown = True #@param ["False", "True"] {type:"raw"}
#@markdown ---
'''


def field(source: str) -> Field:
    form = parse_form(source)
    assert not form.problems, form.problems
    (only,) = form.fields
    return only


def test_colab_example_gives_every_kind():
    form = parse_form(COLAB_EXAMPLE)
    assert not form.problems
    assert (form.title, form.run_auto, form.display_mode) == ("Example form fields", True, "form")
    kinds = {f.name: f.kind for f in form.fields}
    assert kinds == {"text": "string", "dropdown": "dropdown", "text_and_dropdown": "dropdown",
                     "raw_input": "raw", "raw_dropdown": "dropdown", "date_input": "date",
                     "number_input": "number", "number_slider": "slider", "integer_input": "integer",
                     "integer_slider": "slider", "boolean_checkbox": "boolean", "boolean_dropdown": "dropdown"}
    assert [item.text for item in form.items if isinstance(item, Markdown)] == \
        ["Forms support many types of fields.", "---"]
    assert isinstance(form.items[0], Markdown) and isinstance(form.items[-1], Markdown)  # the cell's order
    by_name = {f.name: f for f in form.fields}
    assert by_name["dropdown"].options == ("1st option", "2nd option", "3rd option")
    assert not by_name["dropdown"].raw and not by_name["dropdown"].allow_input
    assert by_name["text_and_dropdown"].allow_input
    assert by_name["raw_dropdown"].raw and by_name["raw_dropdown"].options == (1, "raw_input", "False", "'string'")
    slider = by_name["number_slider"]
    assert (slider.minimum, slider.maximum, slider.step) == (-1, 1, 0.1)
    assert by_name["text"].line == 2 and by_name["text"].source == "'value'"
    line = COLAB_EXAMPLE.split("\n")[2]
    assert line[slice(*by_name["text"].span)] == "'value'"


@pytest.mark.parametrize("source, expected", [
    ('x = 1 # @param {type:"integer"}', "integer"),        # Colab's formatter writes "# @param"
    ('x = "a" #  @param {type: "string", placeholder: "name"}', "string"),
    ("x = 1 #@param", "raw"),                                # no type: raw, as Colab
    ('x = [1, 2] #@param {type:"raw"}', "raw"),
    ('x: int = 3 #@param {type:"integer"}', "integer"),     # an annotated assignment
    ("x = 16 #@param [16, 32, 64]", "dropdown"),
    ('x = 16 #@param [16, 32.5] {type:"number"}', "dropdown"),
])
def test_annotation_spellings(source, expected):
    assert field(source).kind == expected


def test_defaults_and_options():
    assert field('x = "a" #@param {type:"string", placeholder:"your name"}').placeholder == "your name"
    slider = field('x = 5 #@param {type:"slider"}')
    assert (slider.minimum, slider.maximum, slider.step) == (0, 100, 1)  # Colab's defaults
    assert field("x = 16 #@param [16, 32, 64]").options == (16, 32, 64)
    assert field("x = 'a' #@param ['a', 'b'] {allow-input: true, type: 'string'}").allow_input


def test_a_hash_inside_a_string_is_not_the_comment():
    assert comment_start('x = "a#b" #@param') == 10
    assert comment_start("x = '''#''' # c") == 12
    assert comment_start(r"x = 'it\'s #' # c") == 14
    assert field('x = "a#b" #@param {type:"string"}').source == '"a#b"'


def test_literals_colab_writes():
    assert read_literals('["a", \'b\', 1, -2.5, true, null] {allow-input: true, "k": "v"}') == \
        [["a", "b", 1, -2.5, True, None], {"allow-input": True, "k": "v"}]
    with pytest.raises(AnnotationError, match="the end"):
        read_literals('{type:"string"')


def test_titles_and_markdown():
    assert parse_form("#@title Plain title\nx = 1").title == "Plain title"
    form = parse_form('# @title Set up {display-mode:"form"}\nimport os')
    assert form.display_mode == "form" and form.shown and not form.run_auto
    assert not parse_form("#@title Only a title\nimport os").shown  # code shown: nothing to draw
    assert not parse_form("import os  # a plain comment\n!pip install -q x\n%time 1").shown
    assert parse_form("#@markdown *one*").items == (Markdown(0, "*one*"),)
    assert not parse_form('#@title T {display-mode: "code"}\nx = 1 #@param {type:"integer"}').shown


@pytest.mark.parametrize("source, message", [
    ('x = 1 #@param {type:"colour"}', "unknown field type 'colour'"),
    ('x = 1 #@param {type:"slider", min:5, max:1}', "min < max"),
    ('x = 1 #@param {type:"slider", min:"a"}', "min must be a number"),
    ('x = 1 #@param {type:"string"', "found the end"),
    ("x = 1 #@param []", "at least one choice"),
    ('x = 1 #@param {type:"integer", min:0}', "'min' does not apply to integer fields"),
    ('x = 1 #@param [1, "two"] {type:"integer"}', "choices are all numbers"),
    ('x = 1 #@param {allow-input: true}', "'allow-input' does not apply"),
    ("#@param {type:'string'}", "follows an assignment"),
    ("if True:\n  x = 1 #@param", "top level"),
    ("x = 1 #@param [1] [2]", "at most one"),
    ("x = 1 #@param oops", "expected a [list]"),
    ('#@title T {run: "sometimes"}', "run is one of auto"),
    ('#@title T {colour: "red"}', "unknown title option"),
    ("x = 1 #@markdown hi", "a line of its own"),
])
def test_bad_annotations_are_one_line_problems(source, message):
    form = parse_form(source + "\ny = 2 #@param {type:'integer'}")
    (problem,) = form.problems
    assert message in str(problem) and "\n" not in str(problem)
    assert [f.name for f in form.fields] == ["y"]  # the rest of the form is still built


def test_a_second_field_for_one_name_is_left_out():
    form = parse_form("x = 1 #@param {type:'integer'}\nx = 2 #@param {type:'integer'}")
    assert [f.line for f in form.fields] == [0]
    assert str(form.problems[0]).startswith("line 2: x has a field already")


@pytest.mark.parametrize("source, entry, value, text", [
    ('x = "a" #@param {type:"string"}', "it's", "it's", '"it\'s"'),   # keeps the double quotes
    ("x = 'a' #@param {type:'string'}", "b", "b", "'b'"),
    ('x = 1.5 #@param {type:"number"}', 2.0, 2.0, "2.0"),
    ('x = 1 #@param {type:"number"}', 2.0, 2.0, "2"),               # an int stays written as one
    ('x = 1 #@param {type:"integer"}', 7, 7, "7"),
    ('x = 1 #@param {type:"slider", min:0, max:10}', 7, 7, "7"),
    ('x = 0 #@param {type:"slider", min:-1, max:1, step:0.1}', 0.30000000000000004, 0.3, "0.3"),
    ('x = True #@param {type:"boolean"}', False, False, "False"),
    ('x = "2018-03-22" #@param {type:"date"}', datetime.date(2024, 2, 29), "2024-02-29", '"2024-02-29"'),
    ('x = None #@param {type:""}', "[1, 2]", [1, 2], "[1, 2]"),
    ("x = 16 #@param [16, 32, 64]", 1, 32, "32"),
    ('x = "a" #@param ["a", "b"]', 1, "b", '"b"'),
    ('x = True #@param ["False", "True"] {type:"raw"}', 0, False, "False"),
    ('x = "a" #@param ["a", "b"] {allow-input: true}', "typed", "typed", '"typed"'),
    ('x = "a" #@param ["a", "b"] {allow-input: true}', "b", "b", '"b"'),
])
def test_choose_gives_value_and_source_text(source, entry, value, text):
    choice = choose(field(source), entry, {})
    assert (choice.value, choice.text) == (value, text)


def test_raw_values_are_evaluated_in_the_namespace():
    raw = field('x = base #@param {type:"raw"}')
    assert choose(raw, "base * 2", {"base": 21}).value == 42
    with pytest.raises(FieldValueError, match="NameError"):
        choose(raw, "missing + 1", {})
    with pytest.raises(FieldValueError, match="SyntaxError"):
        choose(raw, "[1, 2", {})


def test_entries_from_the_source_and_from_the_namespace():
    assert source_entry(field('x = "2018-03-22" #@param {type:"date"}')) == datetime.date(2018, 3, 22)
    assert source_entry(field("x = 32 #@param [16, 32]")) == 1
    assert source_entry(field('x = base #@param ["1", "base"] {type:"raw"}')) == 1
    assert source_entry(field('x = f(2) #@param {type:"raw"}')) == "f(2)"
    assert source_entry(field("x = 2 * 3 #@param {type:'integer'}")) is None  # not a literal
    integer = field("x = 1 #@param {type:'integer'}")
    assert entry_for(integer, 5) == 5 and entry_for(integer, True) is None and entry_for(integer, "5") is None
    slider = field("x = 1 #@param {type:'slider', min:0, max:10}")
    assert entry_for(slider, 11) is None and entry_for(slider, 3) == 3
    assert entry_for(field("x = 'a' #@param ['a', 'b']"), "c") is None


def test_rewrite_changes_only_the_value():
    line = 'lr  =  0.1   #@param {type:"number"}  '
    f = field(line)
    assert rewrite(line, f, "0.01") == 'lr  =  0.01   #@param {type:"number"}  '
    longer = rewrite(line, f, "123.456")
    assert rewrite(longer, f, "2") == 'lr  =  2   #@param {type:"number"}  '  # again, from the new line
