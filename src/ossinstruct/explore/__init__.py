"""The explorer: every seed's journey and every completion's verdict in SQLite (`database`), served with
Datasette (`serve`, `ossinstruct explore`) and summarised in the report's pages (`pages`)."""
