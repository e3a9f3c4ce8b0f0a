"""Notebook 08's decoded texture NCAs: each trained once, kept in the model cache, several side by side.

:func:`decoded_model` describes the training completely (texture, target
digest, recipe, factor, window, decoder width, extractor) and asks
:func:`pixelflow.workbook.model_cache.trained` for the model, so a rerun
made necessary by a change elsewhere does not train again. It is a plain
function of picklable arguments: :func:`pixelflow.workbook.side_by_side.run_side_by_side`
can train the textures' models in parallel processes.
"""

from __future__ import annotations

from dataclasses import asdict

from pixelflow.workbook.model_cache import array_digest, trained


def decoded_model(name: str, recipe, extractor, factor: int, window: int, decoder_hidden: int) -> tuple:
    """The decoded texture NCA of texture ``name``, trained against its true texture ``factor`` times finer.

    Parameters
    ----------
    name : str
        A texture of :data:`pixelflow.nca.texture.TEXTURES`.
    recipe : TextureRecipe
        Training settings, loss and seed (the rule's width, channels and seed too).
    extractor : nn.Module
        The training loss's feature extractor.
    factor, window : int
        Pixels per cell of the training image, and the side of its scored square
        (:func:`pixelflow.nca.resolution.fit_decoded_texture`).
    decoder_hidden : int
        Width of the decoder's hidden layers.

    Returns
    -------
    (model, info, from_cache)
        ``info`` holds the loss ``history`` and the training ``wall_time_s``
        (of the run that trained it, when it comes from the cache).
    """
    from pixelflow.nca.decoder import decoded_texture_nca
    from pixelflow.nca.resolution import fit_decoded_texture, true_texture

    target = true_texture(name, factor)
    if target is None:
        raise ValueError(f"{name!r} has no true texture {factor} times finer to train against")
    what = {"model": "decoded texture NCA", "texture": name, "target": array_digest(target), "recipe": asdict(recipe),
            "factor": factor, "window": window, "decoder_hidden": decoder_hidden, "extractor": extractor.name}

    def build():
        return decoded_texture_nca(recipe.channels, recipe.hidden, decoder_hidden=decoder_hidden, seed=recipe.seed)

    def fit(model):
        trainer = fit_decoded_texture(model, target, recipe, extractor, factor, window, progress=False)
        return {"history": trainer.history_, "wall_time_s": trainer.wall_time_s_}

    return trained(what, build, fit)
