"""ReconstructionMetric over two processes: every validation reads the same mean-image
baseline, on every rank."""
import torch
import torch.distributed as torch_dist
import torch.multiprocessing as mp

from addp.evaluation import ReconstructionMetric


def _validate_twice(rank: int, store_path: str, out: str) -> None:
    torch_dist.init_process_group('gloo', rank=rank, world_size=2,
                                  store=torch_dist.FileStore(store_path, 2))
    metric = ReconstructionMetric(max_baseline_images=2)
    generator = torch.Generator().manual_seed(rank)
    images = torch.randint(0, 256, (2, 3, 4, 4), generator=generator, dtype=torch.uint8)
    samples = [dict(psnr=torch.tensor(20. + rank), code_counts=torch.tensor([1, 0]))] * 2
    metrics = []
    for _ in range(2):
        metric.process(dict(inputs=images), samples)
        metrics.append(metric.evaluate(size=4))
    torch_dist.destroy_process_group()
    torch.save(metrics, f'{out}.{rank}')


def test_every_validation_reads_every_ranks_images(tmp_path):
    out = str(tmp_path / 'metrics')
    mp.spawn(_validate_twice, args=(str(tmp_path / 'store'), out), nprocs=2)
    first, second = torch.load(f'{out}.0')
    # Rank 1's images count again in the second validation's baseline.
    assert second == first
    assert first['tokenizer/psnr'] == 20.5
    all_images = torch.cat([
        torch.randint(0, 256, (2, 3, 4, 4), generator=torch.Generator().manual_seed(rank),
                      dtype=torch.uint8) for rank in (0, 1)]).float() / 255.
    expected = -10 * torch.log10((all_images.mean(0, keepdim=True) - all_images).pow(2)
                                 .flatten(1).mean(1)).mean()
    assert abs(first['tokenizer/psnr_mean_image'] - float(expected)) < 1e-4
    assert torch.load(f'{out}.1') == [first, second]
