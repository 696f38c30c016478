"""Ports: typing.Protocol interfaces between the core and the outside world."""
