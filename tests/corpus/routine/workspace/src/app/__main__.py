import argparse

parser = argparse.ArgumentParser()
parser.add_argument("--name", default="world")
print("hello", parser.parse_args().name)
