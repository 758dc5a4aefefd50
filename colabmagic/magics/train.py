"""%train MODEL [DATASET] [options]: train a built-in template with a live view."""

from __future__ import annotations

from IPython.core.error import UsageError
from IPython.core.magic import line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from .base import ColabMagics, output_arguments, reports_errors


@magics_class
class TrainMagics(ColabMagics):
    @line_magic
    @magic_arguments()
    @argument("model", nargs="?", help="Model template: mlp, cnn, resnet9, resnet18, lstm, transformer.")
    @argument("dataset", nargs="?", default="digits",
              help="Dataset name (default digits, embedded), or a folder, .csv or .npz path.")
    @argument("--list", action="store_true", help="List the model templates and datasets.")
    @argument("--data", nargs=2, metavar=("X", "Y"), help="Train on arrays X and Y from the notebook.")
    @argument("--epochs", type=int, help="Passes over the training set.")
    @argument("--batch-size", type=int, help="Examples per step.")
    @argument("--lr", type=float, help="Peak learning rate.")
    @argument("--optimizer", help="sgd or adamw.")
    @argument("--scheduler", help="onecycle, cosine or none.")
    @argument("--weight-decay", type=float, help="Decoupled (adamw) or L2 (sgd) weight decay.")
    @argument("--label-smoothing", type=float, help="Cross-entropy label smoothing, 0..1.")
    @argument("--augment", help="On-device augmentation, comma list: flip, crop, cropN (N px).")
    @argument("--precision", help="auto, bf16, fp16 or fp32 (auto: bf16 on CUDA, fp32 on CPU).")
    @argument("--compile", action="store_true", default=None, help="Use torch.compile.")
    @argument("--device", help="auto, cpu, cuda, cuda:N or mps.")
    @argument("--seed", type=int, help="Random seed (same seed, same result on the CPU).")
    @argument("--val-split", type=float, help="Fraction of the training set held out for validation.")
    @argument("--target", help="CSV: the label column.")
    @argument("--name", help="Run name (default MODEL-DATASET): runs/NAME holds logs and checkpoints.")
    @argument("--logdir", help="TensorBoard log folder (default runs/NAME).")
    @argument("--checkpoint-dir", help="Checkpoint folder (default runs/NAME/checkpoints).")
    @argument("--checkpoint-every", type=float, metavar="MINUTES", help="Also checkpoint mid-epoch.")
    @argument("--resume", action="store_true", default=None, help="Continue from the newest checkpoint.")
    @argument("--devices", type=int, help="Train with N processes (DDP through torchrun).")
    @argument("--nnodes", type=int, help="torchrun: number of nodes.")
    @argument("--node-rank", type=int, help="torchrun: this node's rank.")
    @argument("--rdzv-endpoint", help="torchrun: HOST:PORT of the rendezvous.")
    @argument("--quiet", action="store_true", help="No live view: print only the summary.")
    @output_arguments
    @reports_errors
    def train(self, line):
        """Train a built-in PyTorch model template, e.g. `%train cnn digits --epochs 10`."""
        args = self.parse(self.train, line)
        from ..train import train
        from ..train.catalogue import catalogue
        from ..train.progress import default_views

        if args.list:
            return self.deliver(catalogue(), args)
        if not args.model:
            raise UsageError("%train needs a model: %train MODEL [DATASET] (see %train --list)")
        options = {k: v for k, v in vars(args).items() if v is not None and k not in NOT_CONFIG}
        result = train(args.model, args.dataset, data=self.arrays(args.data),
                       callbacks=default_views(args.quiet), **options)
        return self.deliver(result, args, show=True)

    def arrays(self, names):
        if names is None:
            return None
        missing = [n for n in names if n not in self.shell.user_ns]
        if missing:
            raise UsageError(f"--data: no variable named {missing[0]!r} in the notebook")
        return tuple(self.shell.user_ns[n] for n in names)


# argument names that steer the magic rather than the training config
NOT_CONFIG = {"model", "dataset", "list", "data", "output", "variable"}
