"""Sampling many images into a folder: resumable, shared across processes, with progress."""
import time
from typing import Dict, Optional

from mmengine.dist import barrier, get_dist_info

from addp.image_io import save_png, to_uint8
from addp.models.sampling import ADDPSampler
from addp.progress import images_progress

from .canvas import Canvas
from .sample_folder import (
    check_output_folder,
    image_path,
    missing_indices,
    prepare_output_folder,
    save_grid,
    shard_indices,
)
from .sampling import sample_images


def sample_to_folder(model, sampler: ADDPSampler, canvas: Canvas, out_dir: str,
                       num_images: int, batch_size: int, seed: int,
                       settings: Dict, grid_size: int = 64,
                       class_label: Optional[int] = None) -> Dict:
    """Samples images ``0 .. num_images - 1`` into ``out_dir``, skipping those already there.

    In a distributed run, process ``rank`` draws the indices ``rank, rank + world_size, ...``.
    Every image's randomness depends on (seed, index) only, so a split, batch size or
    interruption changes no sample; with the same arguments, a resumed run writes the same
    bytes as an uninterrupted one.

    Args:
        model (ADDP): From :func:`build_sampling_model`.
        sampler (ADDPSampler): The decoding recipe.
        canvas (Canvas): Blank or from an image to edit.
        out_dir (str): The output folder (see :mod:`addp.apis.sample_folder`).
        num_images (int): Images in the finished folder.
        batch_size (int): Images per forward pass in this process.
        seed (int): The run's seed.
        settings (dict): ``sample`` and ``run`` entries for ``settings.json``.
        grid_size (int): Images in ``grid.png``.
        class_label (int, optional): The class to draw, for a class-conditional model.

    Returns:
        dict: ``generated`` and ``skipped`` counts of this process, ``seconds`` spent
        sampling, and ``grid`` (the grid's path on rank 0).
    """
    rank, world_size = get_dist_info()
    check_output_folder(out_dir, settings)
    if rank == 0:
        prepare_output_folder(out_dir, settings, canvas.preview)
    barrier()
    owned = shard_indices(num_images, rank, world_size)
    # Batches are fixed slices of the shard, recomputed whole when partly written, so that a
    # resumed run repeats the exact arithmetic of an uninterrupted one.
    batches = [owned[i:i + batch_size] for i in range(0, len(owned), batch_size)]
    todo = {i for batch in batches for i in missing_indices(out_dir, batch)}
    description = 'sampling' if world_size == 1 else f'sampling (rank 0 of {world_size})'
    start = time.perf_counter()
    with images_progress(disable=rank != 0) as progress:
        task = progress.add_task(description, total=len(todo))
        for batch in batches:
            if todo.isdisjoint(batch):
                continue
            state = sample_images(model, sampler, canvas, batch, seed, class_label)
            written = [i for i in batch if i in todo]
            for index, image in zip(batch, to_uint8(state.pixels)):
                if index in todo:
                    save_png(image, image_path(out_dir, index))
            progress.advance(task, len(written))
    seconds = time.perf_counter() - start
    barrier()
    grid = save_grid(out_dir, num_images, grid_size) if rank == 0 else None
    return dict(generated=len(todo), skipped=len(owned) - len(todo), seconds=seconds, grid=grid)


