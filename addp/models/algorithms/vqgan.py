"""Training the MAGE VQGAN tokenizer on a new image domain."""
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel

from addp.metrics import code_perplexity, mean_image_psnr, psnr
from addp.registry import MODELS

# Reconstruction losses: taming's L1, or the squared error that PSNR measures.
PIXEL_LOSSES = {'l1': F.l1_loss, 'mse': F.mse_loss}


@MODELS.register_module()
class VQGAN(BaseModel):
    """Trains a ``VQGANTokenizer`` (same layers and checkpoint keys as the released one).

    Losses: pixel reconstruction (taming's L1, or the squared error) through a straight-through
    quantizer, the codebook loss ``||sg(z) - e||^2`` and the commitment loss
    ``beta * ||z - sg(e)||^2``. A
    ``CodebookReviver`` initialises the codes from data (unless the tokenizer starts from a
    checkpoint, such as the released one) and restarts unused ones.

    From scratch, the first ``autoencoder_warmup_iters`` train encoder and decoder without the
    quantizer, on the pixel loss alone; the codes are then initialised from the latents they
    learned. Quantizing from the first step collapses: codes fitted to an untrained encoder's
    latents mostly tell positions apart, not images, so the decoder learns the mean image, the
    pixel gradient reaching the encoder fades (over 100x in 45 steps on MNIST) and the commitment
    loss, however small its weight, then steers the Adam steps, pulling every image onto the
    same codes.

    The tokenizer sits under ``tokenizer.``, so a checkpoint of this model loads where a
    released VQGAN is expected (``model.tokenizer.checkpoint=work_dirs/.../epoch_N.pth``).

    Args:
        tokenizer (dict): A ``VQGANTokenizer`` config; trained here whatever its ``frozen``.
        codebook_reviver (dict, optional): A ``CodebookReviver`` config (its ``num_codes`` is
            taken from the tokenizer). None trains the codebook by its losses alone.
        beta (float): Weight of the commitment loss. VQ-VAE and taming: 0.25.
        autoencoder_warmup_iters (int): Training iterations without the quantizer before the
            codebook is initialised. Ignored when the tokenizer starts from a checkpoint.
        pixel_loss (str): The reconstruction loss, ``'l1'`` (taming's) or ``'mse'``.
        pixel_loss_weight (float): Weight of the reconstruction loss.
        data_preprocessor (dict, optional): Must give pixels in [0, 1].
        init_cfg (dict, optional): MMEngine initialisation config.
    """

    def __init__(self,
                 tokenizer: dict,
                 codebook_reviver: Optional[dict] = dict(type='CodebookReviver'),
                 beta: float = 0.25,
                 autoencoder_warmup_iters: int = 0,
                 pixel_loss: str = 'l1',
                 pixel_loss_weight: float = 1.0,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.tokenizer = MODELS.build(dict(tokenizer, frozen=False))
        self.codebook_reviver = None
        if codebook_reviver is not None:
            self.codebook_reviver = MODELS.build(
                dict(codebook_reviver, num_codes=self.tokenizer.codebook_size))
            if self.tokenizer.checkpoint is not None:
                # Adapting trained codes: keep them, restart only those that fall out of use.
                self.codebook_reviver.mark_initialized()
        self.beta = beta
        self.autoencoder_warmup_iters = (
            0 if self.tokenizer.checkpoint is not None else autoencoder_warmup_iters)
        if pixel_loss not in PIXEL_LOSSES:
            raise ValueError(f'pixel_loss={pixel_loss!r}: choose one of {sorted(PIXEL_LOSSES)}')
        self.pixel_loss = PIXEL_LOSSES[pixel_loss]
        self.pixel_loss_weight = pixel_loss_weight
        # Persistent, so that a resumed run knows whether its warm-up is over.
        self.register_buffer('iterations_trained', torch.zeros((), dtype=torch.long))
        # The host's copy of the count: read from the buffer once, after construction or
        # loading, so that a step does not wait for the device to learn it.
        self._iterations_on_host: Optional[int] = None

    def _load_from_state_dict(self, *args, **kwargs) -> None:
        super()._load_from_state_dict(*args, **kwargs)
        self._iterations_on_host = None

    def warming_up(self) -> bool:
        """Whether this training iteration is still in the autoencoder warm-up."""
        if self.autoencoder_warmup_iters == 0:
            return False
        if self._iterations_on_host is None:
            self._iterations_on_host = int(self.iterations_trained)
        return self._iterations_on_host < self.autoencoder_warmup_iters

    def quantize(self, images: torch.Tensor):
        """Encoder latents (B, C, h, w), their codes (B, h * w) and the codes' entries."""
        tokenizer = self.tokenizer
        z = tokenizer.encoder(images)
        indices = tokenizer.quantize(z)
        if self.training and self.codebook_reviver is not None:
            latents = z.detach().permute(0, 2, 3, 1).flatten(0, 2)
            self.codebook_reviver(tokenizer.codebook, latents, indices)
            # Always again: learning whether a code restarted would wait for the device.
            indices = tokenizer.quantize(z)
        return z, indices, tokenizer.lookup(indices, z.shape[-2:])

    def loss(self, inputs: torch.Tensor, data_samples: Optional[List] = None,
             **kwargs) -> Dict[str, torch.Tensor]:
        """Args:
            inputs (Tensor): Images (B, 3, H, W) in [0, 1].

        Returns:
            dict: The three losses; logged: the batch's PSNR, ``psnr_mean_image`` (the PSNR
            of the batch's own mean image, which a collapsed tokenizer does not beat) and the
            code perplexity. During the autoencoder warm-up: the pixel loss and the PSNRs.
        """
        warming_up = self.warming_up()
        if self.training:
            self.iterations_trained += 1
            if self._iterations_on_host is not None:
                self._iterations_on_host += 1
        if warming_up:
            recon = self.tokenizer.decoder(self.tokenizer.encoder(inputs))
            return dict(
                loss_pixel=self.pixel_loss_weight * self.pixel_loss(recon, inputs),
                psnr=psnr(recon.detach(), inputs).mean(),
                psnr_mean_image=mean_image_psnr(inputs))
        z, indices, z_q = self.quantize(inputs)
        # Straight-through: the decoder's gradient reaches the encoder unchanged.
        recon = self.tokenizer.decoder(z + (z_q - z).detach())
        return dict(
            loss_pixel=self.pixel_loss_weight * self.pixel_loss(recon, inputs),
            loss_codebook=F.mse_loss(z_q, z.detach()),
            loss_commit=self.beta * F.mse_loss(z, z_q.detach()),
            psnr=psnr(recon.detach(), inputs).mean(),
            psnr_mean_image=mean_image_psnr(inputs),
            perplexity=code_perplexity(indices, self.tokenizer.codebook_size))

    @torch.no_grad()
    def predict(self, inputs: torch.Tensor, data_samples: Optional[List] = None) -> List[dict]:
        """Reconstructs through the codebook.

        Returns:
            list[dict]: Per image: ``psnr`` and ``code_counts`` (K, ), the codes it uses, as
            ``ReconstructionMetric`` reads them.
        """
        indices, latent = self.tokenizer.encode(inputs)
        recon = self.tokenizer.decode(latent)
        K = self.tokenizer.codebook_size
        return [dict(psnr=value, code_counts=torch.bincount(row, minlength=K))
                for value, row in zip(psnr(recon, inputs), indices)]

    def forward(self, inputs: torch.Tensor, data_samples: Optional[List] = None,
                mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.tokenizer.encode(inputs)[0]
        raise RuntimeError(f'VQGAN supports modes "loss", "predict" and "tensor", not {mode!r}')
