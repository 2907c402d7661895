"""One module per command of the command line.

A command module has ``HELP`` (one line), ``add_arguments(parser)`` and ``main(args) -> int``,
and imports anything heavy inside ``main`` so that ``sharespec --help`` stays fast. The command
line finds the modules here by themselves: adding a command is adding a module.
"""
