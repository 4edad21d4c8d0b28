#!/usr/bin/python3
"""Write nncmp studies from Python: NumPy only, streamed to disk.

A study is a directory (see nncmp's README, "The study format"):

    STUDY/labels.npy  classes.txt  samples.jsonl
    STUDY/models/NAME/{probs,logits,pred}.npy
    STUDY/models/NAME/act/LAYER.npy       (N, ...) activations, one row per instance
    STUDY/models/NAME/weights/LAYER.npy   the layer's weights, any shape
    STUDY/models/NAME/graph.json          the modules that ran (export_torch graph=True)
    STUDY/models/NAME/saliency/LAYER.npy  (N, h, w) float16 Grad-CAM maps (saliency=)
    STUDY/images/NNNNNN.png               the inputs as images (save_images=True)

As a module:

    from nncmp_export import StudyWriter, export_torch

    with StudyWriter("out/study", classes=["cat", "dog"]) as w:
        for x, y in batches:
            w.add_labels(y)
            w.add_logits("mlp", logits)               # or add_probs / add_pred
            w.add_activations("mlp", "layer1.0", h, dtype="float16")
    # close() (the end of the with block) checks the row counts and
    # finishes the .npy headers.

    export_torch("out/study", models={"mlp": mlp, "cnn": cnn}, loader=loader,
                 layers={"mlp": ["fc1"], "cnn": ["conv1", "fc"]}, classes=classes,
                 graph=True, saliency={"cnn": "conv1"}, save_images=True)

    # Hugging Face-style dict batches; per-token layers pooled over the attention mask
    export_torch("out/text", models={"bert": bert}, loader=tokenized_loader,
                 layers={"bert": {"bert.encoder.layer.11": "mean"}}, label_key="labels")

    # on every rank of a torch.distributed group, each loader over its DistributedSampler:
    # one shard per rank in the dataset's order, and rank 0 writes study.ini
    export_torch("/shared/study", models={"cnn": cnn}, loader=rank_loader)

Every matrix is written in batches: the .npy header is written with room for a
20-digit row count and rewritten on close(), so a million-instance run never
holds its activations in memory.  Only NumPy is needed; export_torch imports
torch when called.

As a script:  nncmp_export.py --demo OUT   writes a small synthetic study.
"""

import json
import os
import re
import shutil
import sys
from collections.abc import Mapping

import numpy as np

__all__ = ["StudyWriter", "export_torch", "check_model_name", "RESERVED_NAMES", "grad_cam",
           "model_graph", "image_uint8"]

RESERVED_NAMES = frozenset(
    "gt and or not split issue text id index correct conf margin p act".split())
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
_SAMPLE_KEYS = ("id", "text", "image", "split")
_MAX_ROWS_DIGITS = 20


def check_model_name(name):
    """Raise ValueError unless NAME is a valid nncmp model name."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(
            "model name %r: must start with a letter or '_' and hold only letters, "
            "digits, '_' and '-'" % (name,))
    if name in RESERVED_NAMES:
        raise ValueError(
            "model name %r is a word of nncmp's filter language; reserved: %s"
            % (name, " ".join(sorted(RESERVED_NAMES))))
    return name


def _check_layer_name(layer):
    if (not isinstance(layer, str) or not layer or layer in (".", "..")
            or "/" in layer or "\\" in layer or "\0" in layer
            or any(c.isspace() for c in layer)):
        raise ValueError("layer name %r: must be non-empty, without '/', spaces, "
                         "and not '.' or '..'" % (layer,))
    return layer


class _NpyStream:
    """An .npy file (format 1.0) written in row batches.

    The header is padded so that a 20-digit row count fits; close() rewrites
    it in place with the final count.
    """

    def __init__(self, path, dtype, kind):
        self.path = path
        self.kind = kind  # for messages
        self.dtype = np.dtype(dtype).newbyteorder("<") if np.dtype(dtype).itemsize > 1 \
            else np.dtype(dtype)
        self.tail = None  # shape of one row
        self.rows = 0
        self.f = None
        self.hlen = None

    def _header(self, rows):
        shape = (rows,) + tuple(self.tail)
        d = "{'descr': %r, 'fortran_order': False, 'shape': %r, }" % (
            self.dtype.str, shape)
        return d

    def append(self, batch):
        a = np.asarray(batch)
        if a.ndim == 0:
            raise ValueError("%s: a batch must have at least one dimension" % self.kind)
        if self.tail is None:
            self.tail = a.shape[1:]
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            big = self._header(10 ** _MAX_ROWS_DIGITS - 1)
            # magic(6) + version(2) + length(2) + dict + '\n', multiple of 64
            self.hlen = -(-(10 + len(big) + 1) // 64) * 64
            self.f = open(self.path, "wb")
            self._write_header(0)
        elif a.shape[1:] != self.tail:
            raise ValueError("%s: batch rows have shape %s, earlier batches %s"
                             % (self.kind, a.shape[1:], self.tail))
        a = np.ascontiguousarray(a, dtype=self.dtype)
        self.f.write(a.tobytes(order="C"))
        self.rows += a.shape[0]

    def _write_header(self, rows):
        d = self._header(rows)
        pad = self.hlen - 10 - len(d) - 1
        h = b"\x93NUMPY\x01\x00" + (self.hlen - 10).to_bytes(2, "little") \
            + (d + " " * pad + "\n").encode("latin1")
        assert len(h) == self.hlen
        self.f.seek(0)
        self.f.write(h)
        self.f.seek(0, 2)

    def close(self):
        if self.f is not None:
            self._write_header(self.rows)
            self.f.close()
            self.f = None


class StudyWriter:
    """Write a study directory in batches.

    StudyWriter(path, classes=None, overwrite=False)

    add_labels(labels)                       (B,) integer class ids  -> labels.npy (int64)
    add_samples([{"id", "text", "image", "split"}, ...])            -> samples.jsonl
    add_probs(model, batch, dtype=float32)   (B, C) probabilities     -> models/M/probs.npy
    add_logits(model, batch, dtype=float32)  (B, C) scores            -> models/M/logits.npy
    add_pred(model, batch)                   (B,) class ids (int64)   -> models/M/pred.npy
    add_activations(model, layer, batch, dtype=None)  (B, ...)        -> models/M/act/LAYER.npy
    set_weights(model, layer, array)         any shape, written at once -> models/M/weights/LAYER.npy
    close()                                  finish headers, check row counts (ValueError)

    Each add_* call appends a batch of rows; calls for different matrices may be
    interleaved in any way, as long as every matrix ends with one row per label.
    dtype=None keeps the batch's dtype (activations); float16 is allowed everywhere
    floats are.  Use as a context manager: close() runs at the end of the block
    (and if the block raised, files are closed without the checks).
    """

    def __init__(self, path, classes=None, overwrite=False, *, _hint="pass overwrite=True"):
        self.path = os.fspath(path)
        if classes is not None:
            classes = [str(c) for c in classes]
            for c in classes:
                if not c or "\n" in c or "\r" in c:
                    raise ValueError("class name %r: must be non-empty and on one line" % c)
            if len(set(classes)) != len(classes):
                raise ValueError("class names are not unique")
        self.classes = classes
        if os.path.exists(self.path):
            if not os.path.isdir(self.path):
                raise ValueError("%s exists and is not a directory" % self.path)
            if os.listdir(self.path):
                if not overwrite:
                    raise ValueError("%s is not empty (%s to replace the study in it)"
                                     % (self.path, _hint))
                for name in ("labels.npy", "labels.csv", "classes.txt", "samples.jsonl",
                             "study.ini", "models"):
                    p = os.path.join(self.path, name)
                    if os.path.isdir(p) and not os.path.islink(p):
                        shutil.rmtree(p)
                    elif os.path.lexists(p):
                        os.remove(p)
        os.makedirs(self.path, exist_ok=True)
        self._streams = {}   # key -> _NpyStream
        self._outputs = {}   # model -> "probs" | "logits" | "pred"
        self._models = []    # in order of first appearance
        self._weights = set()
        self._samples_f = None
        self._samples_n = 0
        self._closed = False
        self._error = None

    # -- helpers ---------------------------------------------------------
    def _model(self, model):
        check_model_name(model)
        if model not in self._models:
            self._models.append(model)
        return model

    def _stream(self, key, rel, dtype, kind):
        s = self._streams.get(key)
        if s is None:
            s = _NpyStream(os.path.join(self.path, rel), dtype, kind)
            self._streams[key] = s
        return s

    def _check_open(self):
        if self._closed:
            raise ValueError("StudyWriter for %s is closed" % self.path)

    def _output(self, model, kind, batch, dtype):
        self._check_open()
        self._model(model)
        prev = self._outputs.setdefault(model, kind)
        if prev != kind:
            raise ValueError("model %r: already has %s; a model has one of probs, logits "
                             "or pred" % (model, prev))
        a = np.asarray(batch)
        if kind == "pred":
            if a.ndim != 1:
                raise ValueError("model %r: pred batch must be 1-D, got shape %s"
                                 % (model, a.shape))
            a = self._class_ids(a, "model %r pred" % model)
            dt = np.int64
        else:
            if a.ndim != 2:
                raise ValueError("model %r: %s batch must be (batch, classes), got shape %s"
                                 % (model, kind, a.shape))
            if self.classes is not None and a.shape[1] != len(self.classes):
                raise ValueError("model %r: %s have %d columns, but there are %d classes"
                                 % (model, kind, a.shape[1], len(self.classes)))
            dt = np.dtype(dtype if dtype is not None else np.float32)
            if dt.kind != "f":
                raise ValueError("model %r: %s dtype must be float, got %s" % (model, kind, dt))
        rel = os.path.join("models", model, kind + ".npy")
        self._stream((model, kind), rel, dt, "model %r %s" % (model, kind)).append(a)

    def _class_ids(self, a, what):
        if a.dtype.kind == "f":
            if not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
                raise ValueError("%s: class ids must be whole numbers" % what)
        elif a.dtype.kind not in "iub":
            raise ValueError("%s: class ids must be integers, got %s" % (what, a.dtype))
        a = a.astype(np.int64)
        if a.size:
            lo, hi = int(a.min()), int(a.max())
            if lo < 0 or (self.classes is not None and hi >= len(self.classes)):
                raise ValueError("%s: class id %d out of range [0, %s)"
                                 % (what, lo if lo < 0 else hi,
                                    len(self.classes) if self.classes is not None else "C"))
        return a

    # -- public ----------------------------------------------------------
    def add_labels(self, labels):
        """Append a batch of ground-truth class ids (stored int64)."""
        self._check_open()
        a = np.asarray(labels)
        if a.ndim != 1:
            raise ValueError("labels batch must be 1-D, got shape %s" % (a.shape,))
        a = self._class_ids(a, "labels")
        self._stream("labels", "labels.npy", np.int64, "labels").append(a)

    def add_samples(self, samples):
        """Append a batch of sample records: dicts with any of id, text, image, split."""
        self._check_open()
        if isinstance(samples, dict):
            raise ValueError("add_samples takes a list of dicts")
        if self._samples_f is None:
            self._samples_f = open(os.path.join(self.path, "samples.jsonl"), "w",
                                   encoding="utf-8")
        for s in samples:
            if not isinstance(s, dict):
                raise ValueError("sample %d is not a dict" % self._samples_n)
            bad = [k for k in s if k not in _SAMPLE_KEYS]
            if bad:
                raise ValueError("sample %d: unknown field(s) %s; fields are %s"
                                 % (self._samples_n, bad, ", ".join(_SAMPLE_KEYS)))
            rec = {}
            for k in _SAMPLE_KEYS:
                v = s.get(k)
                if v is None:
                    continue
                if isinstance(v, np.generic):
                    v = v.item()
                if k == "id" and not isinstance(v, (str, int)):
                    v = str(v)
                elif k != "id":
                    v = str(v)
                if k == "image" and (os.path.isabs(v) or ".." in v.replace("\\", "/").split("/")):
                    raise ValueError("sample %d: image %r must be a relative path inside "
                                     "the study" % (self._samples_n, v))
                rec[k] = v
            self._samples_f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            self._samples_n += 1

    def add_probs(self, model, batch, dtype=np.float32):
        """Append (batch, C) probabilities (rows sum to 1); float32 unless dtype says."""
        self._output(model, "probs", batch, dtype)

    def add_logits(self, model, batch, dtype=np.float32):
        """Append (batch, C) unnormalized scores; nncmp applies softmax."""
        self._output(model, "logits", batch, dtype)

    def add_pred(self, model, batch):
        """Append (batch,) predicted class ids (int64)."""
        self._output(model, "pred", batch, None)

    def add_activations(self, model, layer, batch, dtype=None):
        """Append (batch, ...) activations of LAYER; dtype=None keeps the batch's."""
        self._check_open()
        self._model(model)
        _check_layer_name(layer)
        a = np.asarray(batch)
        dt = np.dtype(dtype) if dtype is not None else a.dtype
        if dt.kind not in "fiub":
            raise ValueError("model %r layer %r: dtype %s is not numeric" % (model, layer, dt))
        if a.ndim < 2:
            raise ValueError("model %r layer %r: activations must be (batch, ...), got "
                             "shape %s" % (model, layer, a.shape))
        rel = os.path.join("models", model, "act", layer + ".npy")
        self._stream((model, "act", layer), rel, dt,
                     "model %r layer %r activations" % (model, layer)).append(a)

    def set_weights(self, model, layer, array):
        """Write LAYER's weights at once (any shape; >2-D is read as dim0 x rest)."""
        self._check_open()
        self._model(model)
        _check_layer_name(layer)
        a = np.asarray(array)
        if a.dtype.kind not in "fiub" or a.ndim < 1:
            raise ValueError("model %r layer %r: weights must be a numeric array"
                             % (model, layer))
        d = os.path.join(self.path, "models", model, "weights")
        os.makedirs(d, exist_ok=True)
        a = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<") if a.dtype.itemsize > 1
                                 else a.dtype)
        np.save(os.path.join(d, layer + ".npy"), a)
        self._weights.add((model, layer))

    def _finish_files(self):
        for s in self._streams.values():
            s.close()
        if self._samples_f is not None:
            self._samples_f.close()
            self._samples_f = None
        self._closed = True

    def close(self):
        """Finish every file and check the study; raises ValueError on a mismatch."""
        if self._closed:
            if self._error is not None:
                raise ValueError(self._error)
            return
        self._finish_files()
        if self.classes is not None:
            with open(os.path.join(self.path, "classes.txt"), "w", encoding="utf-8") as f:
                f.write("".join(c + "\n" for c in self.classes))
        lab = self._streams.get("labels")
        if lab is None or lab.rows == 0:
            self._error = "%s: no labels were added" % self.path
            raise ValueError(self._error)
        n = lab.rows
        problems = []
        if self._samples_f is not None or self._samples_n:
            if self._samples_n != n:
                problems.append("samples.jsonl: %d samples, but labels has %d rows"
                                % (self._samples_n, n))
        cols = None
        for key, s in self._streams.items():
            if key == "labels":
                continue
            if s.rows != n:
                problems.append("%s (%s): %d rows, but labels has %d"
                                % (s.kind, os.path.relpath(s.path, self.path), s.rows, n))
            if key[1] in ("probs", "logits"):
                c = s.tail[0]
                if cols is None:
                    cols = (c, s.kind)
                elif c != cols[0]:
                    problems.append("%s: %d columns, but %s has %d"
                                    % (s.kind, c, cols[1], cols[0]))
        for m in self._models:
            if m not in self._outputs:
                problems.append("model %r: no probs, logits or pred were added" % m)
        if problems:
            self._error = "; ".join(problems)
            raise ValueError(self._error)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self._finish_files()
        return False


# ---------------------------------------------------------------------------
# PyTorch: batches, forward passes and pooled layers (export_torch's pieces)

_POOLS = ("mean", "first", "last", "max")


def _to_device(x, device):
    import torch
    if isinstance(x, torch.Tensor):
        return x.to(device)
    if isinstance(x, (list, tuple)):
        return type(x)(_to_device(v, device) for v in x)
    if isinstance(x, Mapping):
        return {k: _to_device(v, device) for k, v in x.items()}
    return x


def _first_tensor(out):
    import torch
    if isinstance(out, torch.Tensor):
        return out
    if hasattr(out, "logits") and isinstance(out.logits, torch.Tensor):
        return out.logits
    if isinstance(out, (list, tuple)) and out:
        return _first_tensor(out[0])
    if isinstance(out, Mapping) and out:
        return _first_tensor(next(iter(out.values())))
    raise ValueError("model output of type %s holds no tensor" % type(out).__name__)


def _split_batch(batch, label_key="labels"):
    """(inputs, labels) of one batch: an (inputs, labels) pair, or a dict (a Hugging Face
    datasets batch, a BatchEncoding) whose label_key entry holds the labels and whose other
    entries are the model's keyword arguments."""
    if isinstance(batch, Mapping):
        if label_key not in batch:
            raise ValueError("a dict batch must hold the labels under label_key=%r; its keys "
                             "are %s" % (label_key, ", ".join(map(str, batch.keys()))))
        return {k: v for k, v in batch.items() if k != label_key}, batch[label_key]
    if isinstance(batch, (list, tuple)) and len(batch) == 2:
        return batch[0], batch[1]
    raise ValueError("the loader must yield (inputs, labels) pairs or dicts holding "
                     "label_key=%r" % (label_key,))


def _call_model(model, x, forward=None):
    """One forward pass: forward(model, inputs) when given, else model(**x) for a dict,
    model(*x) for a tuple or list, model(x) otherwise."""
    if forward is not None:
        return forward(model, x)
    if isinstance(x, Mapping):
        return model(**x)
    if isinstance(x, (list, tuple)):
        return model(*x)
    return model(x)


def _pick_output(out, output, name):
    """The (batch, classes) scores in a model's output: output(out) when given, else the
    output itself, its .logits, or its first tensor."""
    import torch
    t = output(out) if output is not None else _first_tensor(out)
    if not isinstance(t, torch.Tensor):
        raise ValueError("model %r: output=... returned %s, not a tensor"
                         % (name, type(t).__name__))
    return t


def _layer_specs(name, model, want):
    """[(module name, module, pool or None)] for layers[name]: a module name, a list of
    names or (name, pool) pairs, or a dict {name: pool or None}."""
    mods = dict(model.named_modules())
    if want is None:
        want = []
    if isinstance(want, str):
        want = [want]
    items = list(want.items()) if isinstance(want, Mapping) else \
        [w if isinstance(w, (list, tuple)) else (w, None) for w in want]
    specs = []
    for item in items:
        if len(item) != 2:
            raise ValueError("model %r: a layer is a module name or (name, pool), got %r"
                             % (name, item))
        ln, pool = item
        if ln not in mods:
            avail = [k for k in mods if k]
            raise ValueError("model %r has no module %r; its modules are: %s"
                             % (name, ln, ", ".join(avail)))
        _check_layer_name(ln)
        if pool is not None and pool not in _POOLS:
            raise ValueError("model %r layer %r: pool=%r; pool is one of %s, or None"
                             % (name, ln, pool, ", ".join(_POOLS)))
        specs.append((ln, mods[ln], pool))
    return specs


def _pool_tokens(t, mask, pool, what):
    """(B, H) from a per-token output t (B, T, H): the mean, the first or last token or the
    maximum over the tokens that mask (B, T) marks as real (every token when mask is None)."""
    import torch
    if t.dim() != 3:
        raise ValueError("%s: pool=%r needs a (batch, tokens, features) output, got shape %s"
                         % (what, pool, tuple(t.shape)))
    b, n, _ = t.shape
    if mask is None:
        m = torch.ones(b, n, dtype=torch.bool, device=t.device)
    else:
        m = mask.to(t.device)
        if tuple(m.shape) != (b, n):
            raise ValueError("%s: attention mask of shape %s, but the output has %d rows of "
                             "%d tokens" % (what, tuple(m.shape), b, n))
        m = m != 0
    counts = m.sum(1)
    if bool((counts == 0).any()):
        raise ValueError("%s: a row of the batch has no token in its attention mask" % what)
    t = t.float()
    if pool == "mean":
        return (t * m.unsqueeze(2)).sum(1) / counts.unsqueeze(1).float()
    if pool == "max":
        return t.masked_fill(~m.unsqueeze(2), float("-inf")).max(1).values
    mi = m.int()
    if pool == "first":
        idx = mi.argmax(1)
    else:  # last: the first real token counted from the end
        idx = n - 1 - mi.flip(1).argmax(1)
    return t[torch.arange(b, device=t.device), idx]


def _layer_rows(t, pool, mask, what, batch_size):
    """A hooked output as the rows written for it: pooled to (B, H), kept (B, C, H, W) or
    (B, C, D, H, W), or flattened to (B, -1)."""
    if t.dim() == 0 or t.shape[0] != batch_size:
        raise ValueError("%s: output shape %s does not start with the batch size %d"
                         % (what, tuple(t.shape), batch_size))
    if pool is not None:
        t = _pool_tokens(t, mask, pool, what)
    elif t.dim() not in (4, 5):  # spatial outputs (N, C, H, W), (N, C, D, H, W) keep their shape
        t = t.reshape(t.shape[0], -1)
    return t.float().cpu().numpy()


def _extras_check(models, graph, saliency):
    """Checks export_torch's graph and saliency arguments; returns (model names, {name: (layer,
    module)})."""
    if graph is True:
        want = set(models)
    elif not graph:
        want = set()
    else:
        want = set([graph] if isinstance(graph, str) else graph)
        for n in want:
            if n not in models:
                raise ValueError("graph names model %r, which is not in models (%s)"
                                 % (n, ", ".join(models)))
    sal = {}
    for n, ln in dict(saliency or {}).items():
        if n not in models:
            raise ValueError("saliency names model %r, which is not in models (%s)"
                             % (n, ", ".join(models)))
        mods = dict(models[n].named_modules())
        if not isinstance(ln, str) or ln not in mods or not ln:
            raise ValueError("saliency: model %r has no module %r; its modules are: %s"
                             % (n, ln, ", ".join(k for k in mods if k)))
        _check_layer_name(ln)
        sal[n] = (ln, mods[ln])
    return want, sal


def _extras_run(w, path, name, model, loader, device, graph, sal, label_key="labels"):
    """graph.json and the saliency maps of one model, in eval mode on device."""
    if not graph and not sal:
        return
    was_training = model.training
    model.eval()
    try:
        if graph:
            x, _ = _split_batch(next(iter(loader)), label_key)
            _write_graph(path, name, model, _to_device(x, device))
        if sal:
            _saliency_pass(w, name, model, sal[0], sal[1], loader, device, label_key)
    finally:
        if was_training:
            model.train()


def _export_local(w, models, loader, resolved, device, dtype, logits, weights, label_key,
                  forward, output, mask_key, extras=None):
    """Runs every model over the loader into StudyWriter w; returns the labels (int64).
    extras: (models for graph.json, {model: saliency (layer, module)}, samples, save_images)."""
    want_graph, sal, samples, save_images = extras or (set(), {}, None, False)
    write_samples = samples is not None or save_images
    import torch

    first_labels = None
    for mi, (name, model) in enumerate(models.items()):
        was_training = model.training
        model.eval()
        model.to(device)
        captured = {}
        handles = []

        def make_hook(ln):
            def hook(mod, inp, out):
                captured.setdefault(ln, []).append(_first_tensor(out).detach())
            return hook

        for ln, mod, _ in resolved[name]:
            handles.append(mod.register_forward_hook(make_hook(ln)))
        labels_seen = []
        tails = {}
        pos = 0
        try:
            with torch.no_grad():
                for bi, batch in enumerate(loader):
                    x, y = _split_batch(batch, label_key)
                    y = np.asarray(y.cpu().numpy() if isinstance(y, torch.Tensor) else y)
                    y = y.reshape(-1)
                    if mi == 0:
                        w.add_labels(y)
                        labels_seen.append(y.astype(np.int64))
                        if write_samples:
                            w.add_samples(_sample_records(samples, x, pos, len(y), w.path,
                                                          save_images))
                    else:
                        ref = first_labels[pos:pos + len(y)]
                        if len(ref) != len(y) or not np.array_equal(ref, y.astype(np.int64)):
                            raise ValueError(
                                "model %r: the loader's labels in batch %d differ from the "
                                "first pass (for model %r); the loader must yield the same "
                                "order every time (shuffle=False)"
                                % (name, bi, next(iter(models))))
                    pos += len(y)
                    captured.clear()
                    x = _to_device(x, device)
                    mask = x.get(mask_key) if isinstance(x, Mapping) else None
                    out = _pick_output(_call_model(model, x, forward), output, name)
                    out = out.detach().float()
                    if out.dim() != 2 or out.shape[0] != len(y):
                        raise ValueError("model %r: output shape %s, expected (%d, classes)"
                                         % (name, tuple(out.shape), len(y)))
                    if logits:
                        w.add_logits(name, out.cpu().numpy())
                    else:
                        w.add_probs(name, torch.softmax(out, dim=1).cpu().numpy())
                    for ln, _, pool in resolved[name]:
                        got = captured.get(ln, [])
                        what = "model %r module %r" % (name, ln)
                        if len(got) != 1:
                            raise ValueError("%s ran %d times in one forward pass (expected "
                                             "once)" % (what, len(got)))
                        a = _layer_rows(got[0], pool, mask, what, len(y))
                        if pool is None and got[0].dim() >= 3:
                            tail = tuple(got[0].shape[1:])
                            if tails.setdefault(ln, tail) != tail:
                                raise ValueError(
                                    "%s: output shape %s in batch %d, %s before (padded "
                                    "per batch?); pool it to (batch, features) with "
                                    "layers={%r: {%r: \"mean\"}} (or first, last, max)"
                                    % (what, tuple(got[0].shape), bi,
                                       (len(y),) + tails[ln], name, ln))
                        w.add_activations(name, ln, a, dtype=dtype)
                    captured.clear()
        finally:
            for h in handles:
                h.remove()
            if was_training:
                model.train()
        if mi == 0:
            first_labels = (np.concatenate(labels_seen) if labels_seen
                            else np.zeros(0, np.int64))
        elif pos != len(first_labels):
            raise ValueError("model %r: the loader yielded %d samples, the first pass %d"
                             % (name, pos, len(first_labels)))
        if weights:
            for ln, mod, _ in resolved[name]:
                wt = getattr(mod, "weight", None)
                if isinstance(wt, torch.Tensor):
                    w.set_weights(name, ln, wt.detach().float().cpu().numpy())
        _extras_run(w, w.path, name, model, loader, device, name in want_graph, sal.get(name),
                    label_key)
    return first_labels


def export_torch(path, models, loader, layers=None, classes=None, device="cpu",
                 dtype=np.float32, logits=True, overwrite=False, weights=True,
                 label_key="labels", forward=None, output=None, mask_key="attention_mask",
                 distributed="auto", indices=None, graph=False, saliency=None, samples=None,
                 save_images=False):
    """Run PyTorch models over a DataLoader and write a study.

    models   {name: torch.nn.Module}; each is run in eval mode under no_grad
    loader   iterable of (inputs, labels), or of dicts (Hugging Face datasets batches,
             BatchEncoding): batch[label_key] is the labels, the other entries the inputs.
             Inputs are called as model(**inputs) for a dict, model(*inputs) for a tuple or
             list, model(inputs) otherwise.  It must yield the same order on every pass
             (shuffle=False): the labels of each model's pass are checked against the first.
    layers   {name: [module names as in model.named_modules()]}: a forward hook on each
             writes its output to models/NAME/act/MODULE.npy, flattened to (batch, -1)
             unless it has spatial dimensions ((batch, C, H, W) and (batch, C, D, H, W)
             are kept as they are), and the module's .weight (if any) to
             models/NAME/weights/MODULE.npy.
             {name: {module: pool}} pools a per-token output (batch, tokens, features) to
             (batch, features): pool is "mean", "first", "last" or "max" over the tokens
             that inputs[mask_key] marks (every token without a mask), or None to flatten.
    forward  forward(model, inputs) -> output, for models called another way
    output   output(model_output) -> (batch, classes) tensor; default: the output, its
             .logits, or its first tensor
    dtype    activations' dtype (e.g. numpy.float16); outputs are stored float32
    logits   True: write logits.npy (raw outputs); False: softmax to probs.npy
    distributed  "auto" (the default): when torch.distributed is initialised with more than
             one rank, call export_torch on every rank with the same arguments and a loader
             over that rank's DistributedSampler; True/False force it.  Each rank writes one
             shard, rank 0 the study.ini; see _export_distributed.
    indices  distributed only: the dataset indices of the rows the loader yields, in order
             (default: list(loader.sampler))
    graph    True (every model) or a list of model names: models/NAME/graph.json, every
             module that ran on the first batch in execution order with its name, type,
             output shape (without the batch dimension), parameter count and inputs
             ("source": "fx" when torch.fx traces the model, else "order": a chain)
    saliency {name: module name}: Grad-CAM of the predicted class on that module's
             (batch, C, h, w) output, max-normalised, to models/NAME/saliency/MODULE.npy
             as (N, h, w) float16, computed batch by batch on `device`
    samples  a list (one entry per instance) or a callable(dataset index) giving a dict
             with any of id, text, image, split (or a text) -> samples.jsonl; ids default
             to the index
    save_images  True: each input (C, H, W) or (H, W) tensor of the loader is saved as
             images/NNNNNN.png and named as the sample's image (floats in [0, 1] scaled
             by 255, other ranges stretched min to max)
             graph, saliency, samples and save_images are not supported with distributed
             (yet): they raise ValueError there
    Returns the study path.  Raises ValueError on bad names or disagreeing passes.
    """
    layers = dict(layers or {})
    if not models:
        raise ValueError("export_torch: no models")
    for name in models:
        check_model_name(name)
    for name in layers:
        if name not in models:
            raise ValueError("layers names model %r, which is not in models (%s)"
                             % (name, ", ".join(models)))
    resolved = {name: _layer_specs(name, model, layers.get(name))
                for name, model in models.items()}
    want_graph, sal = _extras_check(models, graph, saliency)
    args = (models, loader, resolved, device, dtype, logits, weights, label_key, forward,
            output, mask_key)
    if _use_distributed(distributed):
        if want_graph or sal or samples is not None or save_images:
            raise ValueError("export_torch: graph, saliency, samples and save_images are not "
                             "supported with torch.distributed yet; export them in one process")
        return _export_distributed(path, classes, overwrite, indices, args)
    with StudyWriter(path, classes=classes, overwrite=overwrite) as w:
        _export_local(w, *args, extras=(want_graph, sal, samples, save_images))
    return path


# ---------------------------------------------------------------------------
# Architecture, saliency and samples of export_torch (issue #17).  Each is its own
# function so that export_torch only calls them.

_GRAPH_FORMAT = 1


def _param_count(mod):
    return int(sum(p.numel() for p in mod.parameters()))


def _tuple_of_ints(v):
    if isinstance(v, int):
        return [v]
    if isinstance(v, (tuple, list)) and v and all(isinstance(k, int) for k in v):
        return [int(k) for k in v]
    return None


def _record_modules(model, x):
    """Runs model once on x with hooks on every module; returns the entries of the run.

    Each entry: id, name, type, shape (without the batch dimension), params, leaf, kernel,
    stride, padding and dilation (convolutions and pooling); in the order the modules' forward calls began.  A module
    called twice (a shared ReLU) gives two entries.
    """
    import torch
    entries = []
    handles = []
    open_calls = {}  # id(module) -> stack of entry indices

    def pre(mod, inp, name):
        e = {"id": len(entries), "name": name, "type": type(mod).__name__,
             "shape": None, "params": _param_count(mod),
             "leaf": not any(True for _ in mod.children())}
        k = _tuple_of_ints(getattr(mod, "kernel_size", None))
        if k is not None:
            tn = e["type"]
            dims = 3 if tn.endswith("3d") else 1 if tn.endswith("1d") else 2
            e["kernel"] = k * dims if len(k) == 1 else k
            # stride, padding and dilation let nncmp compute receptive fields (nncmp patches);
            # a pooling module's stride defaults to its kernel, "same"/"valid" padding is kept
            # as the string.
            for key in ("stride", "padding", "dilation"):
                v = getattr(mod, key, None)
                if isinstance(v, str):
                    e[key] = v
                    continue
                v = _tuple_of_ints(v)
                if v is not None:
                    e[key] = v * dims if len(v) == 1 else v
        entries.append(e)
        open_calls.setdefault(id(mod), []).append(e["id"])

    def post(mod, inp, out):
        i = open_calls[id(mod)].pop()
        try:
            t = _first_tensor(out)
            entries[i]["shape"] = [int(d) for d in t.shape[1:]]
        except ValueError:
            entries[i]["shape"] = []

    for name, mod in model.named_modules():
        if mod is model:
            continue
        handles.append(mod.register_forward_pre_hook(
            lambda m, i, n=name: pre(m, i, n)))
        handles.append(mod.register_forward_hook(post))
    try:
        with torch.no_grad():
            _call_model(model, x)
    finally:
        for h in handles:
            h.remove()
    for e in entries:
        if e["shape"] is None:  # raised inside: cannot happen once the call returned
            e["shape"] = []
    return entries


def _fx_inputs(model, entries):
    """Inputs of each leaf entry from torch.fx, or None when the model does not trace.

    The k-th call_module node of the traced graph must be the k-th leaf call of the run
    (same module name), else the trace is not what ran and None is returned.  A leaf's
    inputs are the nearest leaf calls upstream of its arguments (through functions and
    methods), -1 for the model's input.
    """
    try:
        import torch.fx
        gm = torch.fx.symbolic_trace(model)
    except Exception:  # noqa: BLE001  any tracing failure means "does not trace"
        return None
    leaves = [e for e in entries if e["leaf"]]
    calls = [nd for nd in gm.graph.nodes if nd.op == "call_module"]
    if len(calls) != len(leaves) or any(nd.target != e["name"] for nd, e in zip(calls, leaves)):
        return None
    of_node = {nd: e["id"] for nd, e in zip(calls, leaves)}
    memo = {}

    def sources(nd):
        if nd in of_node:
            return [of_node[nd]]
        if nd.op == "placeholder":
            return [-1]
        if nd in memo:
            return memo[nd]
        memo[nd] = []
        out = []
        for a in nd.all_input_nodes:
            for s in sources(a):
                if s not in out:
                    out.append(s)
        memo[nd] = out
        return out

    res = {}
    for nd in calls:
        ins = []
        for a in nd.all_input_nodes:
            for s in sources(a):
                if s not in ins:
                    ins.append(s)
        res[of_node[nd]] = sorted(ins)
    return res


def model_graph(model, x, name="model"):
    """The graph.json record of model run on the batch x (see export_torch's graph)."""
    entries = _record_modules(model, x)
    fx = _fx_inputs(model, entries)
    prev = -1
    for e in entries:
        if not e["leaf"]:
            e["inputs"] = []
        elif fx is not None:
            e["inputs"] = fx[e["id"]]
        else:
            e["inputs"] = [prev]
        if e["leaf"]:
            prev = e["id"]
    first = _first_tensor(x) if not isinstance(x, dict) else None
    rec = {"format": _GRAPH_FORMAT, "model": name, "source": "fx" if fx is not None else "order",
           "params": _param_count(model), "modules": entries}
    if first is not None:
        rec["input_shape"] = [int(d) for d in first.shape[1:]]
    return rec


def _write_graph(path, name, model, x):
    rec = model_graph(model, x, name)
    d = os.path.join(path, "models", name)
    os.makedirs(d, exist_ok=True)
    tmp = os.path.join(d, ".graph.json.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(rec, f, indent=1)
        f.write("\n")
    os.replace(tmp, os.path.join(d, "graph.json"))


def grad_cam(model, layer_module, x):
    """Grad-CAM of the predicted class on layer_module's output, for the batch x.

    Returns (cam, pred): cam (B, h, w) float32 on x's device, ReLU of the channel sum of the
    layer's output weighted by the spatial mean of d logit[pred] / d output, divided by its
    maximum per instance (0 where the maximum is 0).
    """
    import torch
    got = []
    h = layer_module.register_forward_hook(lambda m, i, o: got.append(_first_tensor(o)))
    try:
        with torch.enable_grad():
            out = _first_tensor(_call_model(model, x))
            if len(got) != 1:
                raise ValueError("saliency layer ran %d times in one forward pass (expected "
                                 "once)" % len(got))
            a = got[0]
            if a.dim() != 4:
                raise ValueError("saliency layer output has shape %s; Grad-CAM needs "
                                 "(batch, channels, h, w)" % (tuple(a.shape),))
            pred = out.argmax(1)
            # instances do not interact in eval mode: the gradient of the sum is each one's own
            score = out.gather(1, pred[:, None]).sum()
            (g,) = torch.autograd.grad(score, a)
    finally:
        h.remove()
    with torch.no_grad():
        wts = g.mean(dim=(2, 3), keepdim=True)
        cam = torch.relu((wts * a).sum(1)).float()
        mx = cam.flatten(1).max(1).values[:, None, None]
        cam = torch.where(mx > 0, cam / torch.where(mx > 0, mx, torch.ones_like(mx)),
                          torch.zeros_like(cam))
    return cam.detach(), pred.detach()


def _saliency_pass(w, name, model, layer, module, loader, device, label_key="labels"):
    """Writes models/NAME/saliency/LAYER.npy: Grad-CAM of every instance, batch by batch."""
    rel = os.path.join("models", name, "saliency", layer + ".npy")
    s = w._stream((name, "saliency", layer), rel, np.float16,
                  "model %r saliency %r" % (name, layer))
    for batch in loader:
        x, _ = _split_batch(batch, label_key)
        x = _to_device(x, device)
        cam, _ = grad_cam(model, module, x)
        s.append(cam.cpu().numpy())


def _png_bytes(img):
    """An 8-bit PNG (grey, or RGB for (H, W, 3)) of the uint8 array img."""
    import struct
    import zlib
    h, wd = img.shape[:2]
    ctype = 2 if img.ndim == 3 else 0
    raw = b"".join(b"\x00" + img[r].tobytes() for r in range(h))

    def chunk(tag, data):
        c = struct.pack(">I", len(data)) + tag + data
        return c + struct.pack(">I", zlib.crc32(tag + data) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", wd, h, 8, ctype, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def image_uint8(t):
    """One image (C, H, W) with C 1 or 3, or (H, W), as a uint8 (H, W[, 3]) array.

    uint8 data is kept; floats in [0, 1] are scaled by 255; anything else is stretched from
    its minimum to its maximum (a constant image becomes 0).
    """
    a = np.asarray(t)
    if a.ndim == 3 and a.shape[0] in (1, 3):
        a = a[0] if a.shape[0] == 1 else np.transpose(a, (1, 2, 0))
    elif a.ndim != 2:
        raise ValueError("save_images: an image must be (C, H, W) with C 1 or 3, or (H, W); "
                         "got shape %s" % (a.shape,))
    if a.dtype == np.uint8:
        return np.ascontiguousarray(a)
    a = a.astype(np.float64)
    if a.size and a.min() >= 0 and a.max() <= 1:
        return np.ascontiguousarray(np.round(a * 255).astype(np.uint8))
    lo, hi = (a.min(), a.max()) if a.size else (0, 0)
    if hi <= lo:
        return np.zeros(a.shape, np.uint8)
    return np.ascontiguousarray(np.round((a - lo) / (hi - lo) * 255).astype(np.uint8))


def _sample_records(samples, x, start, count, path, save_images):
    """The samples.jsonl records of instances start .. start+count-1 (and their PNGs)."""
    if save_images and (not hasattr(x, "shape") or len(x.shape) not in (3, 4)):
        raise ValueError("save_images: the loader's inputs must be a tensor of images, (batch, C, "
                         "H, W) or (batch, H, W); got %s" % type(x).__name__)
    recs = []
    for k in range(count):
        i = start + k
        if samples is None:
            r = {"id": i}
        elif callable(samples):
            r = samples(i)
        else:
            if i >= len(samples):
                raise ValueError("samples has %d entries, but the loader yields more"
                                 % len(samples))
            r = samples[i]
        if isinstance(r, str):
            r = {"id": i, "text": r}
        elif not isinstance(r, dict):
            raise ValueError("sample %d is not a dict (or a text)" % i)
        else:
            r = dict(r)
            r.setdefault("id", i)
        if save_images:
            rel = "images/%06d.png" % i
            os.makedirs(os.path.join(path, "images"), exist_ok=True)
            xi = x[k].detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x[k])
            with open(os.path.join(path, rel), "wb") as f:
                f.write(_png_bytes(image_uint8(xi)))
            r.setdefault("image", rel)
        recs.append(r)
    return recs


# ---------------------------------------------------------------------------
# torch.distributed: one shard per rank, in the dataset's order, and a study.ini
#
# A DistributedSampler deals indices round-robin (rank r gets r, r+W, r+2W, ...; shuffled
# or padded with repeats as it is told), but nncmp reads a sharded matrix as its shards' rows
# concatenated in order.  So every rank first writes the rows its loader yields to a scratch
# study (.nncmp-ranks/rank-R), the ranks exchange the dataset indices they saw, and then rank R
# writes shards/rank-R: the rows of the contiguous range R of the dataset order, gathered from
# every rank's scratch files (a shared file system, which the manifest needs anyway).  Rank 0
# writes labels.npy, classes.txt, the weights and study.ini, which lists the shards in rank
# order; the scratch files are removed.  Padding repeats are written once; an index no rank saw
# (drop_last=True) is refused.

def _use_distributed(distributed):
    if distributed not in ("auto", True, False):
        raise ValueError("distributed=%r: 'auto', True or False" % (distributed,))
    if distributed is False:
        return False
    import torch.distributed as dist
    on = dist.is_available() and dist.is_initialized()
    if distributed is True and not on:
        raise ValueError("distributed=True, but torch.distributed is not initialised "
                         "(call torch.distributed.init_process_group first)")
    return on and (distributed is True or dist.get_world_size() > 1)


def _agree(err):
    """Every rank's error (None or a message) to all; raises ValueError on every rank when any
    rank had one, so that no rank waits forever for one that failed."""
    import torch.distributed as dist
    errs = [None] * dist.get_world_size()
    dist.all_gather_object(errs, err)
    bad = ["rank %d: %s" % (r, e) for r, e in enumerate(errs) if e is not None]
    if bad:
        raise ValueError("; ".join(bad))


def _step(fn, *a):
    """Runs fn on this rank, then _agree()s on its error; returns fn's value.  The rank that
    failed raises its own exception, the others a ValueError naming it."""
    try:
        r, exc = fn(*a), None
    except Exception as e:  # noqa: BLE001 -- any failure must reach the other ranks
        r, exc = None, e
    err = None if exc is None else str(exc) if isinstance(exc, ValueError) \
        else "%s: %s" % (type(exc).__name__, exc)
    try:
        _agree(err)
    except ValueError:
        if exc is not None:
            raise exc
        raise
    return r


def _rank_indices(loader, indices):
    if indices is None:
        sampler = getattr(loader, "sampler", None)
        if sampler is None:
            raise ValueError("distributed export: pass indices=... (the dataset indices of "
                             "the loader's rows) or a DataLoader with a sampler")
        indices = list(iter(sampler))
    a = np.asarray(indices).reshape(-1)
    if a.size and a.dtype.kind not in "iu":
        raise ValueError("distributed export: indices must be integers, got %s" % a.dtype)
    return a.astype(np.int64)


def _placement(all_idx):
    """For every dataset index 0..N-1 the (rank, row) that holds it (its first occurrence)."""
    n = 1 + max((int(a.max()) for a in all_idx if a.size), default=-1)
    if any(a.size and a.min() < 0 for a in all_idx):
        raise ValueError("distributed export: a negative dataset index")
    src_rank = np.full(n, -1, np.int64)
    src_row = np.zeros(n, np.int64)
    for r in range(len(all_idx) - 1, -1, -1):  # so that earlier ranks and rows win
        a = all_idx[r]
        rows = np.arange(a.size, dtype=np.int64)[::-1]
        src_rank[a[::-1]] = r
        src_row[a[::-1]] = rows
    missing = np.flatnonzero(src_rank < 0)
    if missing.size:
        raise ValueError("distributed export: no rank saw dataset index %d (%d of %d missing; "
                         "DistributedSampler(drop_last=True) drops samples)"
                         % (missing[0], missing.size, n))
    return src_rank, src_row


def _matrix_files(root):
    """The .npy files of a scratch study but its weights, as paths relative to root."""
    out = []
    for dp, dn, fn in os.walk(root):
        dn.sort()
        rel = os.path.relpath(dp, root)
        parts = rel.split(os.sep)
        if len(parts) >= 3 and parts[0] == "models" and parts[2] == "weights":
            continue
        out += [os.path.normpath(os.path.join(rel, f)) for f in sorted(fn) if f.endswith(".npy")]
    return out


def _reshard(scratch, rank, world, src_rank, src_row, out_dir, rels, block=4096):
    """Writes out_dir/REL for each REL: the rows of this rank's contiguous range of the dataset
    order, gathered from every rank's scratch copy of REL."""
    n = len(src_rank)
    lo, hi = n * rank // world, n * (rank + 1) // world
    if hi == lo:
        return
    for rel in rels:
        srcs = [np.load(os.path.join(scratch(r), rel), mmap_mode="r") for r in range(world)]
        s = _NpyStream(os.path.join(out_dir, rel), srcs[0].dtype, rel)
        try:
            for b in range(lo, hi, block):
                e = min(hi, b + block)
                sr, rw = src_rank[b:e], src_row[b:e]
                rows = np.empty((e - b,) + srcs[0].shape[1:], srcs[0].dtype)
                for r in np.unique(sr):
                    sel = sr == r
                    rows[sel] = srcs[r][rw[sel]]
                s.append(rows)
        finally:
            s.close()
            del srcs


def _write_manifest(path, ranks, rels, model_names, weight_files, has_classes):
    """study.ini naming labels.npy, classes.txt and, per model, its shards in rank order
    (ranks: those whose range of the dataset is not empty)."""
    def shard_list(rel):
        files = ["shards/rank-%05d/%s" % (r, rel.replace(os.sep, "/")) for r in ranks]
        return ",\n    ".join(files)

    lines = ["; written by nncmp_export.py: %d shards, one per rank, in dataset order"
             % len(ranks),
             "[study]", "labels = labels.npy"]
    if has_classes:
        lines.append("classes = classes.txt")
    for m in model_names:
        lines += ["", "[model %s]" % m]
        for rel in rels:
            parts = rel.split(os.sep)
            if parts[:2] != ["models", m]:
                continue
            if len(parts) == 3:
                lines.append("%s = %s" % (parts[2][:-4], shard_list(rel)))
            elif parts[2] == "act":
                lines.append("act.%s = %s" % (parts[3][:-4], shard_list(rel)))
        for wm, wl, wrel in weight_files:
            if wm == m:
                lines.append("weights.%s = %s" % (wl, wrel))
    tmp = os.path.join(path, "study.ini.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, os.path.join(path, "study.ini"))


def _export_distributed(path, classes, overwrite, indices, args):
    import torch.distributed as dist
    rank, world = dist.get_rank(), dist.get_world_size()
    path = os.fspath(path)
    models = args[0]
    scratch_root = os.path.join(path, ".nncmp-ranks")

    def scratch(r):
        return os.path.join(scratch_root, "rank-%05d" % r)

    def prepare():
        if rank == 0:
            StudyWriter(path, overwrite=overwrite)  # refuses a non-empty path, or clears it
            for d in (scratch_root, os.path.join(path, "shards"), os.path.join(path, "weights")):
                if os.path.isdir(d):
                    shutil.rmtree(d)
    _step(prepare)

    def run_rank():
        idx = _rank_indices(args[1], indices)
        with StudyWriter(scratch(rank), classes=classes, overwrite=True) as w:
            labels = _export_local(w, *args)
        if len(labels) != len(idx):
            raise ValueError("the loader yielded %d rows, but its indices (the sampler) %d"
                             % (len(labels), len(idx)))
        return idx
    idx = _step(run_rank)
    all_idx = [None] * world
    dist.all_gather_object(all_idx, idx)
    src_rank, src_row = _step(_placement, all_idx) or (None, None)
    rels = _matrix_files(scratch(0))
    out_dir = os.path.join(path, "shards", "rank-%05d" % rank)
    _step(_reshard, scratch, rank, world, src_rank, src_row, out_dir, rels)

    def finish():
        if rank != 0:
            return
        n = len(src_rank)
        ranks = [r for r in range(world) if n * (r + 1) // world > n * r // world]
        lab = np.concatenate([np.load(os.path.join(path, "shards", "rank-%05d" % r,
                                                   "labels.npy")) for r in ranks])
        np.save(os.path.join(path, "labels.npy"), lab)
        if classes is not None:
            shutil.copyfile(os.path.join(scratch(0), "classes.txt"),
                            os.path.join(path, "classes.txt"))
        weight_files = []
        for m in sorted(models):
            wd = os.path.join(scratch(0), "models", m, "weights")
            for f in sorted(os.listdir(wd)) if os.path.isdir(wd) else []:
                rel = "weights/%s/%s" % (m, f)
                os.makedirs(os.path.join(path, "weights", m), exist_ok=True)
                shutil.copyfile(os.path.join(wd, f), os.path.join(path, rel))
                weight_files.append((m, f[:-4], rel))
        mrels = [r for r in rels if r != "labels.npy"]
        _write_manifest(path, ranks, mrels, sorted(models), weight_files, classes is not None)
    _step(finish)
    if os.path.exists(os.path.join(out_dir, "labels.npy")):
        os.remove(os.path.join(out_dir, "labels.npy"))
    shutil.rmtree(scratch(rank))
    _step(lambda: None)
    if rank == 0:
        shutil.rmtree(scratch_root, ignore_errors=True)
    return path


# ---------------------------------------------------------------------------
def write_demo(out, n=240, overwrite=False, seed=0, _hint="pass overwrite=True"):
    """A tiny synthetic study: 3 classes, models 'lin' (probs) and 'deep' (logits)."""
    rng = np.random.default_rng(seed)
    classes = ["red", "green", "blue"]
    with StudyWriter(out, classes=classes, overwrite=overwrite, _hint=_hint) as w:
        for start in range(0, n, 100):
            b = min(100, n - start)
            y = rng.integers(0, 3, b)
            x = (rng.normal(size=(b, 8)) + np.eye(3, 8)[y] * 2).astype(np.float32)
            w.add_labels(y)
            w.add_samples([{"id": start + i, "text": "sample %d ★" % (start + i),
                            "split": "test"} for i in range(b)])
            s = x[:, :3] * 2
            p = np.exp(s - s.max(1, keepdims=True))
            w.add_probs("lin", p / p.sum(1, keepdims=True))
            h = np.maximum(x @ rng.normal(size=(8, 16)).astype(np.float32), 0)
            w.add_activations("lin", "enc.fc1", h, dtype=np.float16)
            w.add_logits("deep", x[:, :3] * 3 + rng.normal(size=(b, 3)))
            w.add_activations("deep", "hidden", x)
        w.set_weights("lin", "enc.fc1", rng.normal(size=(16, 8)).astype(np.float32))
    return out


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(
        prog="nncmp_export.py", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--demo", metavar="OUT", help="write a small synthetic study to OUT")
    ap.add_argument("--rows", type=int, default=240, help="rows of the demo study (240)")
    ap.add_argument("--overwrite", action="store_true",
                    help="replace the study in a non-empty OUT")
    args = ap.parse_args(argv)
    if not args.demo:
        ap.print_help()
        return 2
    try:
        write_demo(args.demo, n=args.rows, overwrite=args.overwrite, _hint="use --overwrite")
    except ValueError as e:
        print("nncmp_export.py: %s" % e, file=sys.stderr)
        return 2
    print(args.demo)
    return 0


if __name__ == "__main__":
    sys.exit(main())
