"""google.colab's public API over colabmagic's core (drive, files, userdata, output, runtime, forms)."""
