"""The hardened XML parser every incoming 2030.5 body goes through first.

2030.5 documents never need a DTD, entities, external resources, comments or processing
instructions, so the parser refuses or drops all of them, in an order that keeps the work
bounded by the body size:

1. a body over ``max_body_bytes`` is refused before anything looks inside it (HTTP 413);
2. a ``<!DOCTYPE`` anywhere in the body is refused before parsing: no DTD, so no entity
   expansion (billion laughs), no external entity and no external DTD can ever be loaded;
3. libxml2 parses with entity substitution, DTD loading and network access off, its own
   amplification limit on, and its default depth cap (256); a DOCTYPE that slipped past
   step 2 in another encoding is refused after parsing, before anything reads the tree;
4. nesting deeper than ``max_depth`` is refused (one XPath in C, no Python walk).

The parser and its XPath are kept per thread: lxml parsers must not be shared between
threads, and a gateway may parse in a thread pool.
"""

from __future__ import annotations

import threading

from lxml import etree

from sep2.errors import Sep2ParseError


class SafeXmlParser:
    """Parses untrusted bytes into an lxml element, or refuses them with a Sep2ParseError."""

    def __init__(self, *, max_body_bytes: int, max_depth: int) -> None:
        self.max_body_bytes = max_body_bytes
        self.max_depth = max_depth
        self._local = threading.local()

    def _tools(self) -> tuple[etree.XMLParser, etree.XPath]:
        tools: tuple[etree.XMLParser, etree.XPath] | None = getattr(self._local, "tools", None)
        if tools is None:
            parser = etree.XMLParser(
                resolve_entities=False,
                no_network=True,
                load_dtd=False,
                dtd_validation=False,
                huge_tree=False,
                remove_comments=True,
                remove_pis=True,
                collect_ids=False,
            )
            # True if any element sits one level below the deepest allowed.
            too_deep = etree.XPath("boolean(/*" + "/*" * self.max_depth + ")")
            tools = (parser, too_deep)
            self._local.tools = tools
        return tools

    def parse(self, body: bytes) -> etree._Element:
        """The root element of ``body``; raises Sep2ParseError for anything unsafe or not XML."""
        if len(body) > self.max_body_bytes:
            raise Sep2ParseError(
                f"body of {len(body)} bytes exceeds the limit of {self.max_body_bytes} bytes",
                http_status=413,
            )
        if b"<!DOCTYPE" in body:
            raise Sep2ParseError("a DOCTYPE (DTD) is not allowed in a 2030.5 document")
        if not body or body.isspace():
            raise Sep2ParseError("empty body: expected a 2030.5 XML document")
        parser, too_deep = self._tools()
        try:
            root = etree.fromstring(body, parser)
        except etree.XMLSyntaxError as exc:
            message = str(exc.msg or exc)
            if "depth" in message.lower():
                raise Sep2ParseError(
                    f"elements nested deeper than {self.max_depth} levels"
                ) from None
            raise Sep2ParseError(f"not well-formed XML: {message}") from None
        if root.getroottree().docinfo.doctype:
            raise Sep2ParseError("a DOCTYPE (DTD) is not allowed in a 2030.5 document")
        if too_deep(root):
            raise Sep2ParseError(f"elements nested deeper than {self.max_depth} levels")
        return root
