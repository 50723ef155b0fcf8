"""`python -m gan_lab.report DIRS...`: tables and curves of run and sweep folders (gan_lab/cli/report.py)."""

from gan_lab.cli.report import main

if __name__ == "__main__":
    main()
