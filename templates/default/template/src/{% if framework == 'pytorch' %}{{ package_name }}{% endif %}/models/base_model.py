"""The interface every architecture shares: raw-shaped images (N x H x W) in, class logits out."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn


class BaseModel(nn.Module):
    """Base class of the models: a config dataclass, a forward pass and ONNX export."""

    config_class: ClassVar[type]

    def __init__(self, config: Any) -> None:
        super().__init__()
        self.config = config

    def forward(self, images: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """Logits of shape N x num_classes for normalised images of shape N x H x W."""
        raise NotImplementedError

    def num_parameters(self) -> int:
        """Trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def export_onnx(
        self, path: Path, mean: float, std: float, metadata: dict[str, str] | None = None
    ) -> Path:
        """Write an ONNX graph that takes raw pixels: normalisation (mean, std) is built in.

        The batch dimension is dynamic. ``metadata`` lands in the model's metadata_props.
        """
        import onnx  # only needed here

        wrapper = _RawInput(self, mean, std).eval()
        example = torch.zeros(2, self.config.image_size, self.config.image_size)
        path.parent.mkdir(parents=True, exist_ok=True)
        # The TorchScript exporter (dynamo=False) takes a fraction of a second here, the
        # torch.export-based one several seconds; both give the same graph for these models.
        torch.onnx.export(
            wrapper,
            (example,),
            str(path),
            input_names=["images"],
            output_names=["logits"],
            dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
        model = onnx.load(str(path))
        for key, value in (metadata or {}).items():
            model.metadata_props.add(key=key, value=value)
        onnx.save(model, str(path))
        return path


class _RawInput(nn.Module):
    """Normalise raw pixels, then run the model: what the exported graph computes."""

    def __init__(self, model: nn.Module, mean: float, std: float) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.tensor(mean))
        self.register_buffer("std", torch.tensor(std))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model((images - self.mean) / self.std)
