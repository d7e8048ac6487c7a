"""Which torch device a worker trains on: `auto` takes cuda when there is one, else cpu."""

from backend.store.vocabulary import Device

DEVICES = tuple(Device)


class DeviceUnavailable(RuntimeError):
    pass


def pick_device(requested: str = Device.AUTO) -> Device:
    """"cpu" or "cuda" for `requested` in auto|cpu|cuda; DeviceUnavailable if cuda is asked for but absent."""
    if requested not in DEVICES:
        raise ValueError(f"unknown device {requested!r}; use one of {', '.join(DEVICES)}")
    if requested == Device.CPU:
        return Device.CPU
    import torch

    available = torch.cuda.is_available()
    if requested == Device.CUDA and not available:
        raise DeviceUnavailable(
            "--device cuda was asked for, but torch sees no CUDA device "
            f"(torch {torch.__version__}, CUDA build {torch.version.cuda or 'none'}); "
            "use --device auto or cpu, or install a CUDA build of torch on a machine with a GPU"
        )
    return Device.CUDA if available else Device.CPU
