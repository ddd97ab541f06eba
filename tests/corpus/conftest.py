"""The routine workspace is data that commands are judged against, not part of the suite."""

collect_ignore = ["routine"]
