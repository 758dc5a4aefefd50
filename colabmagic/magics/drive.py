"""%drive_get, %mount_drive, %unmount_drive: Google Drive (and any rclone remote) in a notebook."""

from __future__ import annotations

from IPython.core.magic import line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from .base import ColabMagics, result_arguments, reports_errors


@magics_class
class DriveMagics(ColabMagics):
    @line_magic
    @magic_arguments()
    @argument("source", help="A Google Drive link or file ID (files and folders), or any http(s) URL.")
    @argument("-O", "--output-path", metavar="PATH", help="Where to put it: a file name, or a folder ending in /.")
    @argument("--folder", action="store_true", help="SOURCE is a Drive folder (needed for a bare folder ID).")
    @argument("--unzip", action="store_true", help="Extract the archive (safely) next to it.")
    @argument("--sha256", metavar="HEX", help="Check the file's SHA-256 before it gets its final name.")
    @result_arguments
    @reports_errors
    def drive_get(self, line):
        """Download a public Drive file/folder or a URL, resumably: `%drive_get LINK -O data/`."""
        args = self.parse(self.drive_get, line)
        from ..fetch.gdrive import download

        result = download(args.source, args.output_path, folder=args.folder, unzip=args.unzip,
                          sha256=args.sha256, progress=not args.quiet)
        return self.deliver(result, args)

    @line_magic
    @magic_arguments()
    @argument("mountpoint", nargs="?", default="~/drive", help="Empty or missing folder (default ~/drive).")
    @argument("--remote", metavar="NAME", help="An rclone remote (NAME or NAME:path); default Google Drive.")
    @argument("--readonly", action="store_true", help="Refuse writes (rclone --read-only).")
    @argument("--force-remount", action="store_true", help="Mount again; clean up a stale mount first.")
    @argument("--mode", default="auto", choices=["auto", "mount", "mirror"],
              help="mount (FUSE), mirror (synced local folder), auto: mount when FUSE works.")
    @argument("--service-account", metavar="FILE", help="Google Drive through a service account key file.")
    @argument("--timeout", type=float, default=60, metavar="SECONDS", help="How long to wait for the mount.")
    @argument("--interval", type=float, default=60, metavar="SECONDS", help="Mirror: seconds between syncs.")
    @result_arguments
    @reports_errors
    def mount_drive(self, line):
        """Mount Google Drive (or any rclone remote) like Colab: Drive at MOUNTPOINT/MyDrive."""
        args = self.parse(self.mount_drive, line)
        from ..drive import mount

        result = mount(args.mountpoint, remote=args.remote, readonly=args.readonly, mode=args.mode,
                       force_remount=args.force_remount, service_account=args.service_account,
                       timeout=args.timeout, interval=args.interval)
        return self.deliver(result, args)

    @line_magic
    @magic_arguments()
    @argument("mountpoint", nargs="?", help="The mount point (default: this kernel's only mount).")
    @result_arguments
    @reports_errors
    def unmount_drive(self, line):
        """Flush pending writes and unmount (Colab's drive.flush_and_unmount)."""
        args = self.parse(self.unmount_drive, line)
        from ..drive import unmount

        return self.deliver(unmount(args.mountpoint), args)
