"""GPU memory as Prometheus gauges, read when scraped, where this process uses a GPU."""

from __future__ import annotations

import sys
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric


class GpuMemoryCollector:
    """Memory of each GPU this process has initialised (the in-process backend's).

    Nothing is reported, and torch is not imported, when the process has not started
    CUDA: with the openai backend the GPU belongs to the model server, which exports
    its own metrics.
    """

    def collect(self) -> Iterator[Metric]:
        """One gauge family: bytes by GPU index and kind."""
        torch = sys.modules.get("torch")
        if torch is None or not torch.cuda.is_initialized():
            return
        family = GaugeMetricFamily(
            "medgemma_gpu_memory_bytes",
            "GPU memory: allocated and reserved by this process; used and total on the device",
            labels=["gpu", "kind"],
        )
        for index in range(torch.cuda.device_count()):
            free, total = torch.cuda.mem_get_info(index)
            gpu = str(index)
            family.add_metric([gpu, "allocated"], float(torch.cuda.memory_allocated(index)))
            family.add_metric([gpu, "reserved"], float(torch.cuda.memory_reserved(index)))
            family.add_metric([gpu, "device_used"], float(total - free))
            family.add_metric([gpu, "device_total"], float(total))
        yield family
