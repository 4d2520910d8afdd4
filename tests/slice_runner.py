"""One slice of the bounce runner, as `mailman start` would run it
(test_stress.py).

    python slice_runner.py CONFIG SLICE SLICES

Processes its slice of the bounces queue until the slice is empty.
"""

import sys

from mailman.core.initialize import initialize


def main(config_file, slice_number, slices):
    initialize(config_file)
    from mailman.config import config
    config.push('slices', '[runner.bounces]\ninstances: %d\n' % slices)
    from mailman_bouncerules.runners.bounce import RulesBounceRunner
    runner = RulesBounceRunner('bounces', slice=slice_number)
    while runner._one_iteration():
        pass


if __name__ == '__main__':
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
