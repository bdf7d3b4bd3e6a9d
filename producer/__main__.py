import sys

from producer.sitepath import user_folder_last

user_folder_last()  # before anything else imports `workloads` or `worker`

from producer.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(prog="python -m producer"))
