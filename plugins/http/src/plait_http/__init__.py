"""plait-http: task inputs downloaded by ``http``, ``https`` and ``ftp`` URL, resumed when
the connection drops and checked against a digest the URL gives."""

from plait_http.stager import HttpStager

__all__ = ["HttpStager"]
