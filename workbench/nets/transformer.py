"""``transformer``: a tiny causal (decoder-only) transformer language model.

Why: the lm task (``text_domains``) needs a model whose per-sequence loss reflects what a
language model can learn from each domain, small enough to train on a CPU in seconds.
The architecture follows GPT-2 / nanoGPT (Radford et al. 2019; Karpathy's nanoGPT): token
plus learned position embeddings, pre-LayerNorm blocks of causal self-attention
(``torch.nn.functional.scaled_dot_product_attention(is_causal=True)``) and a GELU MLP
(4 x d_model), a final LayerNorm and an output head over the vocabulary, tied to the token
embedding by default (Press and Wolf 2017). ``build(n_in, n_out)``: n_in = sequence length
(at most ``max_len``), n_out = vocabulary size; input (B, T) int64 -> (B, T, V) logits.

Example:
    >>> import torch
    >>> m = MODELS.create("transformer", d_model=32, n_layers=1).build(16, 96)
    >>> m(torch.zeros(2, 16, dtype=torch.long)).shape
    torch.Size([2, 16, 96])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ..params import Params, param
from ..registry import check
from .base import MAX_PARAMS, MAX_WIDTH, MODELS


class CausalSelfAttention(nn.Module):
    def __init__(self, d_model: int, n_heads: int, dropout: float):
        super().__init__()
        self.n_heads, self.dropout = n_heads, dropout
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, D = x.shape
        q, k, v = (t.view(B, T, self.n_heads, D // self.n_heads).transpose(1, 2)
                   for t in self.qkv(x).split(D, dim=2))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                           dropout_p=self.dropout if self.training else 0.0)
        return self.proj(y.transpose(1, 2).reshape(B, T, D))


class Block(nn.Module):
    """Pre-LN transformer block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, d_model: int, n_heads: int, dropout: float):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attn = CausalSelfAttention(d_model, n_heads, dropout)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(),
                                 nn.Linear(4 * d_model, d_model), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class TinyGPT(nn.Module):
    def __init__(self, vocab: int, max_len: int, d_model: int, n_layers: int, n_heads: int,
                 dropout: float, tied: bool):
        super().__init__()
        self.tok = nn.Embedding(vocab, d_model)
        self.pos = nn.Embedding(max_len, d_model)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(d_model, n_heads, dropout) for _ in range(n_layers))
        self.ln_f = nn.LayerNorm(d_model)
        # tied: logits = x @ tok.weight^T in forward (no shared Parameter object, so copies,
        # .to("meta") and torch.func's stacked replicas keep the tie)
        self.head = None if tied else nn.Linear(d_model, vocab, bias=False)
        self.apply(self._init)

    @staticmethod
    def _init(m: nn.Module) -> None:  # GPT-2 initialisation
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        T = idx.shape[1]
        check(T <= self.pos.num_embeddings,
              f"transformer got sequences of {T} tokens; max_len is {self.pos.num_embeddings}")
        x = self.drop(self.tok(idx) + self.pos(torch.arange(T, device=idx.device)))
        for block in self.blocks:
            x = block(x)
        x = self.ln_f(x)
        return F.linear(x, self.tok.weight) if self.head is None else self.head(x)


@MODELS.register("transformer")
@dataclass(frozen=True, kw_only=True)
class Transformer(Params):
    """Tiny causal transformer LM (GPT-2 style, pre-LN, learned positions) for the lm task.

    Parameters: ``d_model`` (divisible by ``n_heads``), ``n_layers``, ``n_heads``,
    ``max_len`` (longest sequence), ``dropout`` in [0, 1), ``tied`` (output head shares
    the token embedding). Defaults (64, 2, 4, 256, 0.0, True): about 0.1M parameters,
    a few seconds per epoch of ``text_domains`` on a CPU.

    Example:
        >>> Transformer(n_layers=1).n_heads
        4
    """

    tasks: ClassVar[tuple[str, ...]] = ("lm",)
    d_model: int = param(64, low=1, high=MAX_WIDTH,
                         help="Width of the embeddings (divisible by n_heads).")
    n_layers: int = param(2, low=1, high=256, help="Transformer blocks.")
    n_heads: int = param(4, low=1, help="Attention heads per block.")
    max_len: int = param(256, low=1, high=MAX_WIDTH,
                         help="Longest sequence the position embedding holds.")
    dropout: float = param(0.0, low=0, high=1, closed="left",
                           help="Dropout probability, in [0, 1).")
    tied: bool = param(True, help="Output head shares the token embedding (Press and Wolf "
                                  "2017).")

    def __post_init__(self):
        super().__post_init__()
        self.require(self.d_model % self.n_heads == 0, "n_heads",
                     f"transformer d_model ({self.d_model}) must be divisible by n_heads "
                     f"({self.n_heads})")
        blocks = 12 * self.n_layers * self.d_model ** 2 + self.max_len * self.d_model
        self.require(blocks <= MAX_PARAMS, "d_model",
                     f"transformer d_model={self.d_model}, n_layers={self.n_layers}, "
                     f"max_len={self.max_len} has about {blocks:,} parameters before the "
                     f"vocabulary; the limit is {MAX_PARAMS:,} (smaller d_model or n_layers)")

    def build(self, n_in: int, n_out: int) -> nn.Module:
        check(n_in <= self.max_len, f"transformer max_len {self.max_len} is shorter than the "
                                    f"sequences ({n_in} tokens); raise max_len")
        check(n_out >= 2, f"transformer needs a vocabulary of >= 2 tokens, got {n_out}")
        return TinyGPT(n_out, self.max_len, self.d_model, self.n_layers, self.n_heads,
                       self.dropout, self.tied)
