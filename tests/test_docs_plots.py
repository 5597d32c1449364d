"""The documentation's plots: every label readable (no overlap, inside the axes, off the
legend) and both PNG files drawn from the committed manifest."""

from __future__ import annotations

import pytest
from helpers.scripts import load_script

pytest.importorskip("matplotlib", reason="matplotlib (the plots or docs extra) absent")


@pytest.fixture(scope="module")
def gen_plots():
    return load_script("gen_plots_under_test", "docs/gen_plots.py")


def _crowded_axes(gen_plots, n: int):
    """``n`` checkpoints packed into a corner of a log-x axis, with the legend in another."""
    plt = gen_plots._pyplot()
    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    points = [(1.3 + 0.1 * (i % 5), 88.0 + 0.4 * i) for i in range(n)]
    points.append((0.1, 30.0))  # stretches the axes, so the crowd is tight
    for x, y in points:
        ax.scatter([x], [y], **gen_plots.CHECKPOINT)
    ax.set_xscale("log")
    gen_plots._legend(ax, plt)
    fig.tight_layout()
    return plt, fig, ax, points


@pytest.mark.parametrize("crowd", [3, 9, 16])
def test_labels_of_a_crowd_neither_overlap_nor_leave_the_axes(gen_plots, crowd):
    plt, fig, ax, points = _crowded_axes(gen_plots, crowd)
    texts = [f"resnet20_v1 (cifar10:improved-seed{i})" for i in range(len(points))]
    boxes = gen_plots._labels(fig, ax, points, texts)
    frame = ax.get_window_extent(fig.canvas.get_renderer())
    legend = ax.get_legend().get_window_extent(fig.canvas.get_renderer())
    try:
        assert len(boxes) == len(points)
        for i, box in enumerate(boxes):
            assert frame.x0 <= box.x0 and box.x1 <= frame.x1, texts[i]
            assert frame.y0 <= box.y0 and box.y1 <= frame.y1, texts[i]
            assert gen_plots._area(box, legend) == 0, texts[i]
            for other in boxes[i + 1 :]:
                assert gen_plots._area(box, other) == 0
    finally:
        plt.close(fig)


def test_a_label_moved_off_its_point_is_joined_to_it(gen_plots):
    plt, fig, ax, points = _crowded_axes(gen_plots, 6)
    texts = [f"model_{i} (cifar10:improved)" for i in range(len(points))]
    gen_plots._labels(fig, ax, points, texts)
    try:
        labels = {a.get_text(): a for a in ax.texts}
        assert set(labels) == set(texts)
        moved = [a for a in labels.values() if abs(a.xyann[1]) > 0]
        assert moved, "a crowd of six at one height should move some labels"
        for label in moved:
            assert label.arrow_patch is not None, label.get_text()
        for label in labels.values():
            if label.xyann[1] == 0:
                assert label.arrow_patch is None, label.get_text()
    finally:
        plt.close(fig)


def test_area_is_what_two_boxes_share(gen_plots):
    from matplotlib.transforms import Bbox

    a = Bbox.from_extents(0, 0, 10, 4)
    assert gen_plots._area(a, Bbox.from_extents(5, 2, 20, 20)) == 10
    assert gen_plots._area(a, Bbox.from_extents(10, 0, 12, 4)) == 0
    assert gen_plots._area(a, Bbox.from_extents(20, 20, 30, 30)) == 0


def test_both_plots_are_drawn_from_the_manifest(gen_plots, tmp_path):
    written = gen_plots.write_all(tmp_path)
    assert [p.name for p in written] == ["accuracy-vs-parameters.png", "accuracy-vs-cpu-hours.png"]
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size > 20_000  # a drawn figure, not an empty canvas
