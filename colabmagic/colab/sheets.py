"""`google.colab.sheets`: Colab's interactive sheet needs Colab's own frontend."""

from __future__ import annotations

from ..locale import tr
from .failure import ColabAPIError


class InteractiveSheet:
    def __init__(self, *args, **kwargs):
        raise ColabAPIError(tr("sheets.InteractiveSheet needs Colab's frontend: read and write Google Sheets with "
                               "gspread (pip install gspread) and a service account key, or export the sheet "
                               "as CSV and read it with pandas"))
