import numpy as np
import pytest

from mer4d.core import (
    DataError,
    Mer4dError,
    MissingDependencyError,
    ProtocolError,
    RecipeError,
    Registry,
    ShapeError,
    TrackingError,
    UnknownNameError,
    check_shape,
    require,
)
from mer4d.core.options import check_options


@pytest.mark.parametrize(
    ("error", "builtin"),
    [(RecipeError, ValueError), (ShapeError, ValueError), (DataError, ValueError), (ProtocolError, ValueError),
     (UnknownNameError, KeyError), (MissingDependencyError, ImportError), (TrackingError, RuntimeError)],
)
def test_errors_subclass_the_matching_builtin(error, builtin):
    assert issubclass(error, Mer4dError) and issubclass(error, builtin)
    with pytest.raises(builtin):
        raise error("x")


def test_registry_miss_suggests_close_names_and_the_list_command():
    reg = Registry("model", list_command="mer4d models list")
    reg.register("res3d")(lambda: 1)
    reg.register("res3d_sca")(lambda: 2)
    reg.register("lbptop")(lambda: 3)
    assert reg.get("res3d")() == 1 and reg.names() == ["lbptop", "res3d", "res3d_sca"] and "lbptop" in reg
    with pytest.raises(UnknownNameError) as info:
        reg.get("res3")
    message = str(info.value)
    assert "unknown model 'res3'" in message and "did you mean 'res3d'" in message and "mer4d models list" in message
    assert not message.startswith('"')  # KeyError would quote the message; ours does not


def test_registry_rejects_duplicates():
    reg = Registry("dataset")
    reg.register("toy")(object)
    with pytest.raises(ValueError, match="registered twice"):
        reg.register("toy")(object)


def test_check_shape_binds_symbols_and_reports_mismatches():
    assert check_shape(np.zeros((2, 1, 8, 4, 4)), "B C T H W") == {"B": 2, "C": 1, "T": 8, "H": 4, "W": 4}
    assert check_shape(np.zeros((5, 3, 6, 6)), "... 3 H H") == {"H": 6}
    with pytest.raises(ShapeError, match=r"clip: expected shape \(B, C, T, H, W\), got \(8, 3, 16, 112\): expected 5 dimensions, got 4"):
        check_shape(np.zeros((8, 3, 16, 112)), "B C T H W", name="clip")
    with pytest.raises(ShapeError, match="dimension '3' must be 3, got 1"):
        check_shape(np.zeros((2, 1, 4, 4)), "B 3 H W")
    with pytest.raises(ShapeError, match="dimension 'H' is 4 elsewhere but 5 here"):
        check_shape(np.zeros((4, 5)), "H H")
    with pytest.raises(ShapeError, match="dimension 'C' is 3 elsewhere but 1 here"):
        check_shape(np.zeros((1, 4)), "C W", bound={"C": 3})
    with pytest.raises(ShapeError, match="got list"):
        check_shape([1, 2], "N")


def test_require_returns_the_module_or_names_the_install_command():
    assert require("json").dumps([1]) == "[1]"
    with pytest.raises(MissingDependencyError, match=r"face landmarks needs the optional package 'no_such_pkg_xyz'.*pip install 'mer4d\[face\]'"):
        require("no_such_pkg_xyz", extra="face", purpose="face landmarks")
    with pytest.raises(ImportError, match="conda install pytorch3d"):
        require("no_such_pkg_xyz", hint="conda install pytorch3d")


def test_check_options_names_unknown_and_reserved_options():
    def factory(num_classes: int, in_channels: int, width: int = 16, dropout: float = 0.0):
        return None

    check_options(factory, {"width": 8}, "model.params", reserved=("num_classes", "in_channels"))
    with pytest.raises(RecipeError, match="model.params: unknown option 'widht'; did you mean 'width'"):
        check_options(factory, {"widht": 8}, "model.params", reserved=("num_classes", "in_channels"))
    with pytest.raises(RecipeError, match="num_classes is set by mer4d itself"):
        check_options(factory, {"num_classes": 3}, "model.params", reserved=("num_classes", "in_channels"))


def test_did_you_mean_names_the_close_choices_or_nothing():
    from mer4d.core.registry import did_you_mean

    assert did_you_mean("fornt", ("front", "left", "right")) == "; did you mean 'front'?"
    assert did_you_mean("res3", ("res3d", "res3d_sca", "tiny3d"), n=3) == "; did you mean 'res3d' or 'res3d_sca'?"
    assert did_you_mean("zzz", ("front", "left")) == ""
