"""Model builders take torchvision's ``weights=`` enums; checkpoints come from the hub cache."""

import re
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

import ember
from ember.vision import models

BUILDERS = {
    "resnet18": models.ResNet18_Weights,
    "resnet34": models.ResNet34_Weights,
    "resnet50": models.ResNet50_Weights,
    "mobilenet_v2": models.MobileNet_V2_Weights,
    "vgg11_bn": models.VGG11_BN_Weights,
    "vgg16_bn": models.VGG16_BN_Weights,
}


@pytest.fixture
def hub_dir(tmp_path):
    before = ember.hub.get_dir()
    ember.hub.set_dir(tmp_path)
    yield tmp_path
    ember.hub.set_dir(before)


def save_torch_checkpoint(model, folder, url):
    """What torchvision's file is: a state_dict written by PyTorch, named as the URL's file."""
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: torch.from_numpy(v.numpy().copy()) for k, v in model.state_dict().items()}
    path = folder / url.rsplit("/", 1)[1]
    torch.save(state, path)
    return path


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_weights_enums_have_torchvision_shape(name):
    enum = BUILDERS[name]
    assert enum.DEFAULT in list(enum)
    assert enum["IMAGENET1K_V1"] is enum.IMAGENET1K_V1
    assert repr(enum.IMAGENET1K_V1) == f"{enum.__name__}.IMAGENET1K_V1"
    for weights in enum:
        file_name = weights.url.rsplit("/", 1)[1]
        assert re.fullmatch(rf"{name}-[0-9a-f]{{8}}\.pth", file_name), weights.url
        meta = weights.meta
        assert len(meta["categories"]) == 1000 == len(set(meta["categories"]))
        assert meta["num_params"] > 0 and len(meta["min_size"]) == 2
        assert set(meta["_metrics"]["ImageNet-1K"]) == {"acc@1", "acc@5"}
        assert callable(weights.transforms)


def test_parameter_counts_in_meta_match_the_models():
    for builder, enum in [(models.resnet18, models.ResNet18_Weights),
                          (models.resnet50, models.ResNet50_Weights),
                          (models.mobilenet_v2, models.MobileNet_V2_Weights)]:  # fmt: skip
        count = sum(p.numel() for p in builder().parameters())
        assert all(w.meta["num_params"] == count for w in enum)


def test_preset_transforms_resize_crop_and_normalise():
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (300, 400, 3), dtype=np.uint8))
    preset = models.ResNet50_Weights.IMAGENET1K_V2.transforms()
    out = preset(image)
    resized = np.asarray(image.resize((309, 232), Image.BILINEAR), np.float32) / 255
    top, left = (232 - 224) // 2, (309 - 224) // 2
    crop = resized[top : top + 224, left : left + 224].transpose(2, 0, 1)
    mean = np.array([0.485, 0.456, 0.406], np.float32)[:, None, None]
    std = np.array([0.229, 0.224, 0.225], np.float32)[:, None, None]
    assert out.dtype == ember.float32 and tuple(out.shape) == (3, 224, 224)
    np.testing.assert_allclose(out.numpy(), (crop - mean) / std, atol=1e-5)
    batch = preset(ember.rand(2, 3, 64, 80))
    assert tuple(batch.shape) == (2, 3, 224, 224)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_missing_checkpoint_names_the_url_and_the_cache_path(name, hub_dir):
    weights = BUILDERS[name].DEFAULT
    with pytest.raises(RuntimeError) as info:
        getattr(models, name)(weights=weights)
    expected_path = hub_dir / "checkpoints" / weights.url.rsplit("/", 1)[1]
    assert weights.url in str(info.value) and str(expected_path) in str(info.value)


def test_a_checkpoint_in_the_cache_is_loaded(hub_dir):
    source = models.mobilenet_v2()
    for p in source.parameters():
        p.data.uniform_(-1, 1)
    weights = models.MobileNet_V2_Weights.DEFAULT
    save_torch_checkpoint(source, hub_dir / "checkpoints", weights.url)
    for spec in (weights, "DEFAULT", "IMAGENET1K_V2", "MobileNet_V2_Weights.IMAGENET1K_V2"):
        loaded = models.mobilenet_v2(weights=spec)
        for (key, a), b in zip(source.state_dict().items(), loaded.state_dict().values()):
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=key)


def test_pretrained_true_warns_and_means_the_legacy_weights(hub_dir):
    with pytest.warns(UserWarning) as record, pytest.raises(RuntimeError) as info:
        models.resnet50(pretrained=True)
    messages = [str(w.message) for w in record]
    assert any("'pretrained' is deprecated" in m for m in messages)
    assert any("weights=ResNet50_Weights.IMAGENET1K_V1" in m for m in messages)
    assert models.ResNet50_Weights.IMAGENET1K_V1.url in str(info.value)


def test_pretrained_false_warns_and_builds_an_untrained_model():
    with pytest.warns(UserWarning) as record:
        model = models.resnet18(pretrained=False)
    messages = [str(w.message) for w in record]
    assert any("'pretrained' is deprecated" in m for m in messages)
    assert any("equivalent to passing `weights=None`" in m for m in messages)
    assert model.fc.out_features == 1000


def test_bad_weights_arguments():
    with pytest.raises(TypeError, match="expected ResNet18_Weights"):
        models.resnet18(weights=models.ResNet34_Weights.DEFAULT)
    with pytest.raises(ValueError, match="no weights named"):
        models.resnet18(weights="IMAGENET22K")
    with pytest.raises(ValueError, match="'num_classes' expected value 1000 but got 10"):
        models.resnet18(weights="DEFAULT", num_classes=10)


def test_weights_none_and_num_classes_build_as_before():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = models.resnet18(weights=None, num_classes=7)
        small = models.resnet18(10, in_channels=1, small_input=True)
    assert model.fc.out_features == 7 and small.fc.out_features == 10
