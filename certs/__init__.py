"""The IEEE 2030.5 PKI and TLS: certificates, their profile, chains and TLS contexts.

Modules, bottom up:

- ``der``: the few DER encodings ``cryptography`` leaves to us.
- ``hwname``: HardwareModuleName, the otherName that names a device.
- ``profile``: the 2030.5 certificate profile (what each certificate carries, and why)
  and a check that reports every violation.
- ``chain``: verification of a chain to a SERCA at a given time.
- ``issue``: building SERCA, MCA, MICA, device and server certificates.
- ``pemfile``: PEM files, atomic writes, keys at 0600.
- ``bulk``: issuing many device certificates across processes.
- ``pki``: the on-disk PKI directory (layout in its docstring), ``init_pki`` and ``Pki``.
- ``tls``: server and client SSL contexts (TLS 1.2, CCM8, mutual), the peer's LFDI.
- ``forwarded``: a client certificate forwarded by a TLS terminator, to a verified LFDI.
- ``foreign``: an untrusted PKI and self-signed devices, for tests and fault injection.

Imports only ``sep2`` (for LFDI/SFDI) from the rest of gridmirror.
"""
