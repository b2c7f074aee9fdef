"""Tools for the people who tune Destek: NLU example writer, KB lint, KB gap report, the demotion evaluation."""
