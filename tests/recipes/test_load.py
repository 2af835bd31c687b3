from pathlib import Path

import pytest
import yaml

from mer4d.core.errors import RecipeError
from mer4d.recipes import list_recipes, load_recipe
from mer4d.recipes.load import flatten, recipe_to_yaml
from mer4d.recipes.overrides import parse_override

BASE = {
    "name": "demo",
    "dataset": {"name": "toy"},
    "model": {"name": "tiny3d", "params": {"width": 16}},
    "train": {"epochs": 40, "lr": 0.01},
    "profiles": {"quick": {"train": {"epochs": 2}}, "long": {"train": {"epochs": 100}}},
}


def write(folder: Path, name: str, data: dict) -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data))
    return path


def test_every_shipped_recipe_and_profile_validates():
    recipes = list_recipes()
    assert any(p.stem == "toy_smoke" for p in recipes)
    for path in recipes:
        raw = yaml.safe_load(path.read_text())
        for profile in ["published", *(raw.get("profiles") or {})]:
            assert load_recipe(path, profile=profile).recipe.name


def test_quick_profile_applies_without_a_dataset_root_and_published_is_one_flag_away(tmp_path):
    path = write(tmp_path, "r.yaml", BASE)
    auto = load_recipe(path)
    assert auto.profile == "quick" and auto.recipe.train.epochs == 2
    assert "profile 'quick'" in auto.banner() and "--profile published" in auto.banner() and "no dataset.root" in auto.banner()
    assert load_recipe(path, profile="published").recipe.train.epochs == 40
    assert load_recipe(path, profile="long").recipe.train.epochs == 100
    with_root = load_recipe(path, ["dataset.root=/data/x"])
    assert with_root.profile == "published" and with_root.recipe.train.epochs == 40 and "/data/x" in with_root.banner()


def test_set_overrides_win_over_the_profile_and_coerce_types(tmp_path):
    path = write(tmp_path, "r.yaml", BASE)
    loaded = load_recipe(path, ["train.epochs=7", "train.lr=1e-3", "render.views=[front,left]", "train.amp=false", "model.params.depth=3"])
    r = loaded.recipe
    assert (r.train.epochs, r.train.lr, r.render.views, r.train.amp) == (7, 0.001, ["front", "left"], False)
    assert r.model.params == {"width": 16, "depth": 3}
    assert parse_override("dataset.root=/data/CASME2") == (["dataset", "root"], "/data/CASME2")
    assert parse_override("seed=3") == (["seed"], 3)


def test_unknown_keys_are_rejected_with_a_suggestion(tmp_path):
    path = write(tmp_path, "r.yaml", BASE)
    with pytest.raises(RecipeError, match=r"--set trian.epochs=1: unknown key 'trian' in the recipe; did you mean 'train'\?"):
        load_recipe(path, ["trian.epochs=1"])
    with pytest.raises(RecipeError, match=r"unknown key 'epoch' in train; did you mean 'train.epochs'\?"):
        load_recipe(path, ["train.epoch=1"])
    typo = write(tmp_path, "typo.yaml", {**BASE, "protocl": {"kind": "loso"}})
    with pytest.raises(RecipeError, match=r"typo.yaml: unknown key 'protocl' in the recipe; did you mean 'protocol'"):
        load_recipe(typo)
    bad_profile = write(tmp_path, "bp.yaml", {**BASE, "profiles": {"quick": {"train": {"epocs": 1}}}})
    with pytest.raises(RecipeError, match=r"profile 'quick': unknown key 'epocs' in train; did you mean 'train.epochs'"):
        load_recipe(bad_profile)


def test_type_errors_name_the_key_the_expected_type_and_the_source(tmp_path):
    path = write(tmp_path, "r.yaml", BASE)
    with pytest.raises(RecipeError, match=r"train.epochs: expected an integer, got 'abc' \(from --set train.epochs=abc\)"):
        load_recipe(path, ["train.epochs=abc"])
    with pytest.raises(RecipeError, match=r"protocol.kind: expected one of 'loso'.*got 'losoo'"):
        load_recipe(path, ["protocol.kind=losoo"])
    with pytest.raises(RecipeError, match="'train.lr' is a value, it has no sub-key 'x'"):
        load_recipe(path, ["train.lr.x=1"])
    with pytest.raises(RecipeError, match="expected KEY=VALUE"):
        load_recipe(path, ["train.epochs"])
    missing = write(tmp_path, "m.yaml", {"name": "x", "dataset": {"name": "toy"}})
    with pytest.raises(RecipeError, match="model: required key is missing"):
        load_recipe(missing)


def test_unknown_profile_suggests_a_close_one(tmp_path):
    path = write(tmp_path, "r.yaml", BASE)
    with pytest.raises(RecipeError, match=r"no profile 'quik'.*Did you mean 'quick'"):
        load_recipe(path, profile="quik")


def test_extends_merges_one_level_and_refuses_chains(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    child = write(tmp_path, "child.yaml", {"extends": "base.yaml", "name": "child", "train": {"lr": 0.5}})
    r = load_recipe(child, profile="published").recipe
    assert (r.name, r.train.lr, r.train.epochs, r.model.params) == ("child", 0.5, 40, {"width": 16})
    write(tmp_path, "mid.yaml", {"extends": "base.yaml", "name": "mid"})
    chained = write(tmp_path, "chained.yaml", {"extends": "mid.yaml", "name": "c"})
    with pytest.raises(RecipeError, match="Only one extends level is allowed"):
        load_recipe(chained)
    dangling = write(tmp_path, "dangling.yaml", {"extends": "nope.yaml", "name": "d"})
    with pytest.raises(RecipeError, match="extends 'nope.yaml'.*does not exist"):
        load_recipe(dangling)


def test_bad_files_and_names_give_clear_errors(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed")
    with pytest.raises(RecipeError, match="not valid YAML"):
        load_recipe(broken)
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n")
    with pytest.raises(RecipeError, match="a recipe is a mapping"):
        load_recipe(listed)
    with pytest.raises(RecipeError, match=r"recipe 'toy_smok' not found.*Did you mean 'toy_smoke'"):
        load_recipe("toy_smok")


def test_resolved_yaml_round_trips_and_flattens(tmp_path):
    loaded = load_recipe(write(tmp_path, "r.yaml", BASE), ["train.epochs=3"])
    again = yaml.safe_load(recipe_to_yaml(loaded.recipe))
    assert again["train"]["epochs"] == 3 and again["model"]["params"] == {"width": 16}
    flat = flatten(again)
    assert flat["train.epochs"] == 3 and flat["model.params.width"] == 16 and flat["dataset.root"] is None
