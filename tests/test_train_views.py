"""What a training run shows: the chart's SVG, the progress bar and the summary, live and in a saved notebook.

The chart is checked as the SVG it is (parsed, coordinates compared): axis titles, round ticks, one
epoch labelled "1", room between the data and the axes, the legend clear of the ticks, legible text.
The notebook view runs against a real shell's display; the saved form runs a real kernel (nbclient)
and exports the notebook with nbconvert, which is what GitHub, nbviewer and HTML exports show.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from colabmagic.train.callbacks import Progress, RunInfo
from colabmagic.train.chart import TOP, TrainingChart
from colabmagic.train.progress import NotebookView, ProgressBar
from colabmagic.train.result import TrainResult

SVG = "{http://www.w3.org/2000/svg}"


def panels(chart: TrainingChart) -> dict[str, ET.Element]:
    """metric -> its parsed <svg> panel."""
    found = re.findall(r"<svg .*?</svg>", chart._repr_html_())
    assert len(found) == 2
    return {metric: ET.fromstring(svg) for metric, svg in zip(("loss", "accuracy"), found)}


def texts(svg: ET.Element, cls: str) -> list[ET.Element]:
    return [t for t in svg.iter(f"{SVG}text") if t.get("class") == cls]


def axis_y(svg: ET.Element) -> float:
    """The x axis line: the one drawn more strongly than the grid."""
    axes = [line for line in svg.iter(f"{SVG}line") if line.get("stroke-opacity") == "0.45"
            and line.get("y1") == line.get("y2")]
    return float(axes[0].get("y1"))


def data_points(svg: ET.Element) -> list[tuple[float, float]]:
    points = [(float(c.get("cx")), float(c.get("cy"))) for c in svg.iter(f"{SVG}circle")]
    for line in svg.iter(f"{SVG}polyline"):
        points += [tuple(map(float, p.split(","))) for p in line.get("points").split()]
    return points


def history(epochs: int) -> list[dict[str, float]]:
    return [{"epoch": e, "train_loss": 1.0 / e, "train_accuracy": 0.6 + 0.03 * e,
             "test_loss": 1.2 / e, "test_accuracy": 0.55 + 0.03 * e} for e in range(1, epochs + 1)]


# --- the chart -------------------------------------------------------------------------------------

def test_a_one_epoch_chart_labels_its_axis_1_and_puts_the_point_in_the_middle():
    chart = TrainingChart(history=history(1), total_epochs=1)
    for metric, svg in panels(chart).items():
        assert [t.text for t in texts(svg, "x-tick")] == ["1"], metric
        xs = {x for x, _ in data_points(svg)}
        tick_x = float(texts(svg, "x-tick")[0].get("x"))
        assert xs == {tick_x}  # every split's one point stands over the "1"


def test_both_axes_have_titles():
    for metric, svg in panels(TrainingChart(history=history(3), total_epochs=5)).items():
        assert [t.text for t in texts(svg, "x-title")] == ["epoch"]
        assert [t.text for t in texts(svg, "y-title")] == [metric]


def test_no_data_point_lies_on_an_axis_or_the_top_edge():
    for metric, svg in panels(TrainingChart(history=history(6), total_epochs=6)).items():
        bottom = axis_y(svg)
        ys = [y for _, y in data_points(svg)]
        assert max(ys) <= bottom - 8, metric  # the lowest value stands clear of the x axis
        assert min(ys) >= TOP + 8, metric


def test_ticks_are_round_values_spanning_the_data():
    svg = panels(TrainingChart(history=history(10), total_epochs=10))["loss"]
    assert [t.text for t in texts(svg, "x-tick")] == ["1", "2", "4", "6", "8", "10"]
    y_ticks = [float(t.text) for t in texts(svg, "y-tick")]
    assert len(y_ticks) >= 3
    steps = {round(b - a, 9) for a, b in zip(y_ticks, y_ticks[1:])}
    assert len(steps) == 1 and steps.pop() in (0.1, 0.2, 0.25, 0.5)
    assert all(len(t.text) == len(texts(svg, "y-tick")[0].text) for t in texts(svg, "y-tick"))  # same digits


def test_accuracy_ticks_stay_within_0_and_1():
    chart = TrainingChart(history=[{"epoch": 1, "train_loss": 0.1, "train_accuracy": 1.0},
                                   {"epoch": 2, "train_loss": 0.05, "train_accuracy": 0.2}])
    ticks = [float(t.text) for t in texts(panels(chart)["accuracy"], "y-tick")]
    assert ticks and min(ticks) >= 0 and max(ticks) <= 1


def test_the_legend_sits_above_the_plot_clear_of_the_ticks():
    for svg in panels(TrainingChart(history=history(4), total_epochs=4)).values():
        legend = [g for g in svg.iter(f"{SVG}g") if g.get("class") == "legend"]
        assert [g.find(f"{SVG}text").text for g in legend] == ["train", "test"]
        legend_y = max(float(g.find(f"{SVG}text").get("y")) for g in legend)
        highest_tick = min(float(t.get("y")) for t in texts(svg, "y-tick"))
        assert legend_y <= highest_tick - 10
        assert legend_y < TOP
        assert all(float(t.get("y")) > axis_y(svg) for t in texts(svg, "x-tick"))


def test_text_is_at_least_12_px():
    for svg in panels(TrainingChart(history=history(2), total_epochs=2)).values():
        assert int(re.search(r"font-size:(\d+)px", svg.get("style")).group(1)) >= 12
        for title in texts(svg, "x-title") + texts(svg, "y-title"):
            assert int(re.search(r"font-size:(\d+)px", title.get("style")).group(1)) >= 12


def test_the_text_form_is_the_epoch_table():
    text = str(TrainingChart(history=history(2), total_epochs=5, title="mlp on digits"))
    lines = text.splitlines()
    assert lines[0] == "mlp on digits"
    assert lines[1].split() == ["epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy"]
    assert lines[3].split()[:2] == ["2", "0.5000"]


# --- the notebook view, on a real shell's display ---------------------------------------------------

def run_info(**changes) -> RunInfo:
    values = dict(name="mlp-digits", model="mlp", dataset="digits", device="cpu", epochs=4, steps_per_epoch=10,
                  num_params=1234, train_size=1437)
    return RunInfo(**{**values, **changes})


def last_shown(published, display_id) -> dict:
    return [data for data, shown_id, _ in published if shown_id == display_id][-1]


def result_of(**changes) -> TrainResult:
    values = dict(model=None, history=history(2), metrics={k: v for k, v in history(2)[-1].items() if k != "epoch"},
                  train_seconds=1.5, wall_seconds=2.0, samples_per_second=1900.0, peak_memory_bytes=2**25,
                  peak_rss_bytes=2**26, checkpoint_path="runs/mlp-digits/checkpoints/epoch0002-step000000.pt",
                  logdir="runs/mlp-digits", config={"model": "mlp", "dataset": "digits", "epochs": 2}, device="cpu",
                  epochs_run=2)
    return TrainResult(**{**values, **changes})


def test_a_resumed_run_redraws_the_epochs_it_already_trained(shell, published):
    view = NotebookView()
    earlier = [{k: v for k, v in row.items() if k != "epoch"} for row in history(4)[:2]]
    view.on_train_begin(run_info(start_epoch=2, start_step=20, history=earlier))
    bar_id, chart_id = view.bar_handle.display_id, view.chart_handle.display_id
    first = last_shown(published, chart_id)
    assert len(ET.fromstring(re.findall(r"<svg .*?</svg>", first["text/html"])[0])
               .find(f"{SVG}polyline").get("points").split()) == 2
    assert first["text/plain"].splitlines()[-1].split()[0] == "2"
    assert "resumed at epoch 3" in last_shown(published, bar_id)["text/plain"]

    view.on_epoch_end(2, {"train_loss": 0.3, "train_accuracy": 0.7})
    svg = ET.fromstring(re.findall(r"<svg .*?</svg>", last_shown(published, chart_id)["text/html"])[0])
    assert len(svg.find(f"{SVG}polyline").get("points").split()) == 3
    assert [t.text for t in texts(svg, "x-tick")] == ["1", "2", "3", "4"]


def test_the_bar_ends_in_its_final_state(shell, published):
    view = NotebookView()
    view.on_train_begin(run_info(epochs=2))
    bar_id = view.bar_handle.display_id
    assert last_shown(published, bar_id)["text/plain"].splitlines()[1].startswith("epoch 1/2 |")
    view.on_progress(Progress(epoch=0, step=5, steps_per_epoch=10, global_step=5, metrics={"loss": 0.9},
                              samples_per_second=1000.0, elapsed_seconds=0.4))
    for epoch in range(2):
        view.on_epoch_end(epoch, {"train_loss": 0.5, "train_accuracy": 0.8})
    view.on_train_end(result_of())
    final = last_shown(published, bar_id)
    line = final["text/plain"].splitlines()[1]
    assert line.startswith("done: 2/2 epochs |" + "\u2588" * 24 + "|")
    assert "100%" in line and "20/20 steps" in line and "1.5 s" in line and "loss 0.5000" in line
    assert "aria-valuenow='20'" in final["text/html"] and "width:100.0%" in final["text/html"]


def test_an_interrupted_bar_says_where_it_stopped(shell, published):
    view = NotebookView()
    view.on_train_begin(run_info(epochs=3))
    view.on_progress(Progress(epoch=1, step=4, steps_per_epoch=10, global_step=14, metrics={"loss": 0.4},
                              samples_per_second=1000.0, elapsed_seconds=1.0))
    view.on_train_end(result_of(interrupted=True))
    line = last_shown(published, view.bar_handle.display_id)["text/plain"].splitlines()[1]
    assert line.startswith("interrupted at epoch 2/3 |") and "14/30 steps" in line


def test_a_finished_run_brought_back_shows_no_bar(shell, published):
    NotebookView().on_train_end(result_of())  # fit() of a finished run calls only on_train_end
    assert published == []


def test_console_view_ends_cleanly_without_a_beginning():
    import io

    from colabmagic.train.progress import ConsoleView

    ConsoleView(io.StringIO()).on_train_end(result_of())  # a finished run brought back: no begin, no error


def test_progress_bar_text_while_running():
    bar = ProgressBar(title="", total=100, epochs=5, done=25, epoch=1, metrics={"loss": 0.25, "lr": 0.1},
                      samples_per_second=3000.0, elapsed=2.0)
    assert str(bar) == ("epoch 2/5 |" + "\u2588" * 6 + "\u2591" * 18 + "| 25% | 25/100 steps | 2.0 s | ETA 6.0 s | "
                        "3,000 samples/s | loss 0.2500")


# --- the summary -----------------------------------------------------------------------------------

def cells_of(html_text: str) -> list[tuple[str, str]]:
    """(tag, style) of every cell in the summary."""
    return re.findall(r"<(td|th)\b[^>]*style='([^']*)'", html_text)


def test_summary_aligns_numbers_right_and_text_left_in_separate_tables():
    page = result_of()._repr_html_()
    tables = re.findall(r"<table.*?</table>", page)
    assert len(tables) == 2
    metrics, details = tables
    assert re.findall(r"<th[^>]*>(\w*)</th>", metrics) == ["", "loss", "accuracy", "train", "test"]
    numbers = [style for tag, style in cells_of(metrics) if tag == "td"]
    assert len(numbers) == 4 and all("text-align:right" in s and "tabular-nums" in s for s in numbers)
    assert re.findall(r"<td[^>]*>([\d.]+)</td>", metrics) == ["0.5000", "0.6600", "0.6000", "0.6100"]
    assert re.findall(r"title='(\w+)'", metrics) == ["train_loss", "train_accuracy", "test_loss", "test_accuracy"]
    assert all("text-align:left" in style for _, style in cells_of(details))
    assert "runs/mlp-digits/checkpoints/epoch0002-step000000.pt" in details and "32 MiB" in details


# --- a saved notebook, as viewers without widgets show it ------------------------------------------

@pytest.mark.slow
def test_a_saved_notebook_shows_the_finished_bar_and_chart(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nbconvert = pytest.importorskip("nbconvert")

    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("%load_ext colabmagic"),
        nbformat.v4.new_code_cell("%train mlp digits --epochs 1 --seed 1 --name one"),
        nbformat.v4.new_code_cell("%train mlp digits --epochs 2 --name two"),
        nbformat.v4.new_code_cell("%train mlp digits --epochs 3 --seed 1 --name one --resume"),  # 2 more epochs
    ])
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    for cell, epochs in ((notebook.cells[1], 1), (notebook.cells[2], 2)):
        plain = [o.get("data", {}).get("text/plain", "") for o in cell.outputs]
        assert not any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in cell.outputs)
        bar = next(text for text in plain if "steps" in text and "|" in text)
        assert f"done: {epochs}/{epochs} epochs" in bar and "100%" in bar
        assert not any(re.search(r"\b0%", text) for text in plain)  # no stale start state anywhere
        chart = next(o["data"]["text/html"] for o in cell.outputs if "<svg" in o.get("data", {}).get("text/html", ""))
        svg = ET.fromstring(re.findall(r"<svg .*?</svg>", chart)[0])
        assert [t.text for t in texts(svg, "x-tick")] == [str(e) for e in range(1, epochs + 1)]
        assert [t.text for t in texts(svg, "x-title")] == ["epoch"]
        assert len(data_points(svg)) >= epochs

    # the resumed run's chart starts with the epoch the first session trained
    resumed = notebook.cells[3].outputs
    bar = next(o["data"]["text/plain"] for o in resumed if "steps" in o.get("data", {}).get("text/plain", ""))
    assert "resumed at epoch 2" in bar and "done: 3/3 epochs" in bar
    chart = next(o["data"]["text/html"] for o in resumed if "<svg" in o.get("data", {}).get("text/html", ""))
    svg = ET.fromstring(re.findall(r"<svg .*?</svg>", chart)[0])
    assert [t.text for t in texts(svg, "x-tick")] == ["1", "2", "3"]
    assert len(svg.find(f"{SVG}polyline").get("points").split()) == 3

    page, _ = nbconvert.HTMLExporter().from_notebook_node(notebook)
    (tmp_path / "train.html").write_text(page)  # for a look in a browser
    assert page.count("colabmagic-progress") == 3 and "done: 2/2 epochs" in page
    assert page.count("<svg") >= 4 and "x-title" in page
