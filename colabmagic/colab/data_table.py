"""`google.colab.data_table`: Colab's interactive table switch. JupyterLab already shows a DataFrame
as an HTML table, so the switch has nothing to change, and `DataTable(df)` shows the frame's own table."""

from __future__ import annotations


def enable_dataframe_formatter() -> None:
    """Nothing to do: DataFrames are shown as tables here without it."""


def disable_dataframe_formatter() -> None:
    """Nothing to do (see enable_dataframe_formatter)."""


class DataTable:
    """DATAFRAME shown as pandas shows it; Colab's paging options are accepted and not needed."""

    def __init__(self, dataframe, include_index: bool = True, num_rows_per_page: int | None = None, **options):
        self.dataframe = dataframe
        self.include_index = include_index

    def _repr_html_(self) -> str:
        return self.dataframe.to_html(index=self.include_index)

    def __repr__(self) -> str:
        return self.dataframe.to_string(index=self.include_index)
