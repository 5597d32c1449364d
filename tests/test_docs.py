"""Generated tables in README.md and the docs, and ``mkdocs build --strict``."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.scripts import load_script

from keras_cifar_zoo import list_models, model_info

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def gen_tables():
    return load_script("gen_tables_under_test", "docs/gen_tables.py")


def test_readme_tables_are_current(gen_tables):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "<!-- models-table:start -->" in readme
    assert gen_tables.render(readme) == readme, "README.md is stale: run python docs/gen_tables.py"


def test_models_table_has_every_model_with_its_count(gen_tables):
    rows = gen_tables.models_table().splitlines()[2:]
    assert len(rows) == len(list_models())
    for name, row in zip(list_models(), rows, strict=True):
        info = model_info(name)
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[:3] == [f"`{name}`", info.article, f"{info.num_params:,}"]
        assert cells[3].startswith(info.preprocessing.name)


def test_render_fills_every_marked_region_and_only_those(gen_tables):
    page = (
        "intro\n<!-- models-table:start -->\nstale\n<!-- models-table:end -->\n"
        "middle\n<!-- article-004-table:start -->\n<!-- article-004-table:end -->\nend\n"
    )
    out = gen_tables.render(page)
    assert "stale" not in out and out.startswith("intro\n") and out.endswith("\nend\n")
    assert "`simple_cnn`" in out and "`vgg_lite` | 1,186,378 |" in out
    assert gen_tables.render(out) == out
    with pytest.raises(KeyError, match="Unknown table 'nope'"):
        gen_tables.render("<!-- nope-table:start -->\n<!-- nope-table:end -->")


def test_every_docs_marker_names_a_known_table(gen_tables):
    pages = sorted(DOCS.rglob("*.md"))
    markers = {
        name
        for page in pages
        for name in re.findall(r"<!-- ([a-z0-9_-]+)-table:start -->", page.read_text())
    }
    assert markers <= set(gen_tables.TABLES)
    for article in gen_tables.ARTICLES:
        page = DOCS / "articles" / f"{article}.md"
        assert f"<!-- article-{article}-table:start -->" in page.read_text(encoding="utf-8")
    origins = {model_info(n).article for n in list_models()}
    assert origins == set(gen_tables.ARTICLES) | {gen_tables.ZOO_ORIGIN}


def test_check_mode_reports_a_stale_file(gen_tables, tmp_path, capsys):
    stale = tmp_path / "README.md"
    stale.write_text("<!-- models-table:start -->\nold\n<!-- models-table:end -->\n")
    assert gen_tables.main(["--check", str(stale)]) == 1
    assert "is stale" in capsys.readouterr().err
    assert gen_tables.main([str(stale)]) == 0
    assert gen_tables.main(["--check", str(stale)]) == 0


@pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("mkdocs", "material", "mkdocstrings")),
    reason="needs the docs extra (pip install -e '.[docs]')",
)
def test_mkdocs_build_strict(tmp_path):
    site = tmp_path / "site"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
         "-d", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-5000:]
    models = (site / "models" / "index.html").read_text(encoding="utf-8")
    assert "vgg19_bn_pretrain" in models and "39,002,738" in models  # filled at build time
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    for name in ("load_model", "list_models", "model_info", "ModelInfo", "UnknownModelError"):
        assert f'id="keras_cifar_zoo.{name}"' in api
    for article in ("000", "001", "002", "003", "004"):
        assert (site / "articles" / article / "index.html").is_file()


def test_recipes_table_has_a_row_per_recipe(gen_tables):
    from keras_cifar_zoo import get_recipe, list_recipes

    rows = [line for line in gen_tables.recipes_table().splitlines()[2:]]
    assert [row.split("|")[1].strip() for row in rows] == [f"`{n}`" for n in list_recipes()]
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        recipe = get_recipe(cells[0].strip("`"))
        assert cells[2:5] == [recipe.optimizer, str(recipe.epochs), str(recipe.batch_size)]
    fast = next(r for r in rows if r.startswith("| `fast_resnet9`"))
    assert "flip, 0.125 whole-pixel shifts (reflect fill), 8x8 cutout" in fast
