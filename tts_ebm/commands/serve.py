"""A local web page to synthesise with a checkpoint and watch the energy at work.

  tts-ebm serve --checkpoint CKPT [--host 127.0.0.1 --port 7860]

Type a sentence, set the sampler controls (K, step size, tau, length scale, candidates, seed)
and the vocoder; the page plays the audio (with a download link), draws the energy after every
step, shows the mel of mu, of every step (a slider) and what each step changed, and reports
the synthesis time and RTF. The model loads once; syntheses run one at a time from a short queue.
It listens on 127.0.0.1 only unless --host says otherwise: the page has no authentication.
"""

from __future__ import annotations

import argparse

from tts_ebm import voices
from tts_ebm.errors import UserInputError

DEFAULT_VOCODERS = ["hifigan-lj", "griffin-lim"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", default=None,
                        help="a trained .ckpt file, a shipped voice's name or "
                             "hf:OWNER/REPO/FILE[@REVISION] (downloaded once, then cached); "
                             "`tts-ebm voices` lists them (default: the shipped voice "
                             f"{voices.DEFAULT_VOICE!r})")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: 127.0.0.1, this machine only)")
    parser.add_argument("--port", type=int, default=7860, help="port (default: 7860)")
    parser.add_argument("--vocoder", action="append", default=None,
                        help="vocoder spec offered on the page, the first the default; repeat "
                             f"for more (default: {' '.join(DEFAULT_VOCODERS)})")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda if present)")
    parser.add_argument("--max-waiting", type=int, default=4,
                        help="syntheses that may wait in the queue (default: 4)")


def run(args: argparse.Namespace) -> int:
    from werkzeug.serving import make_server

    from tts_ebm.serve.app import Demo, create_app
    from tts_ebm.synthesis import Synthesizer

    if args.max_waiting < 0:
        raise UserInputError(f"--max-waiting must be >= 0, got {args.max_waiting}")
    specs = args.vocoder or DEFAULT_VOCODERS
    synth = Synthesizer(args.checkpoint, vocoder=specs[0], device=args.device)
    demo = Demo(synth, checkpoint_name=str(args.checkpoint or voices.DEFAULT_VOICE), vocoder_specs=specs,
                max_waiting=args.max_waiting)
    try:
        server = make_server(args.host, args.port, create_app(demo), threaded=True)
    except OSError as error:  # port taken, address not on this machine, privileged port
        raise UserInputError(f"cannot listen on {args.host}:{args.port}: {error.strerror or error}"
                             ) from error
    print(f"serving {args.checkpoint} on http://{args.host}:{server.server_port}/ "
          "(Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0
