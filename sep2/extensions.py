"""Extensions in a server's answers: foreign-namespace content set aside, not refused.

Servers of a national profile add their own elements and attributes to 2030.5 resources:
a CSIP-AUS server (namespace ``https://csipaus.org/ns``) ends every EndDevice with a
``csipaus:ConnectionPointLink``. The 2018 XSD has no extension points, so a strict check
refuses such a document, and a client that reads answers as strictly as a server reads
requests stores nothing on that server.

A *client* reading an answer therefore takes out every element and attribute in a
namespace other than 2030.5's (or one of the older 2030.5 namespaces the codec reads) and
keeps them, as :class:`Extension` values, for callers that want them; what remains is
checked against the XSD as always. A *server* reading a request never does this: the
gateway refuses a body with foreign content, as the XSD says.

Only whole foreign subtrees whose parent is 2030.5 content are taken out: what is inside
an extension element is the extension's own business and travels with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from sep2.schema import LEGACY_NAMESPACES, SEP2_NAMESPACE, readable_path

_OURS = frozenset((SEP2_NAMESPACE, *LEGACY_NAMESPACES))
# Attributes of these namespaces are part of XML itself and the XSD check reads them.
_XML_ATTRIBUTE_NAMESPACES = frozenset(
    ("http://www.w3.org/XML/1998/namespace", "http://www.w3.org/2001/XMLSchema-instance")
)

CSIP_AUS_NAMESPACE = "https://csipaus.org/ns"


@dataclass(frozen=True, slots=True)
class Extension:
    """One foreign element or attribute an answer carried.

    ``parent`` is the readable path of the 2030.5 element it was in
    (``EndDeviceList/EndDevice[2]``); ``namespace`` and ``name`` are its expanded name;
    ``xml`` is the element as XML (for an attribute: its value).
    """

    parent: str
    namespace: str
    name: str
    xml: str
    attribute: bool = False

    @property
    def qualified(self) -> str:
        """``{https://csipaus.org/ns}ConnectionPointLink``: the name to log or match."""
        return f"{{{self.namespace}}}{self.name}"


def _foreign(namespace: str | None) -> bool:
    return namespace is not None and namespace not in _OURS


def set_aside(root: etree._Element) -> tuple[Extension, ...]:
    """Remove foreign-namespace elements and attributes from ``root`` (a 2030.5 document
    in its own namespace), in place; return them in document order.

    A root in a foreign namespace is left alone: it is not a 2030.5 document, and the XSD
    check that follows says so.
    """
    if _foreign(etree.QName(root).namespace):
        return ()
    found: list[Extension] = []
    doomed: list[etree._Element] = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue  # comments and processing instructions: the parser dropped them
        parent = element.getparent()
        # Document order: what lies inside the last subtree taken out comes right after it.
        if doomed and _inside(element, doomed[-1]):
            continue
        qname = etree.QName(element)
        if parent is not None and _foreign(qname.namespace):
            found.append(
                Extension(
                    readable_path(parent),
                    qname.namespace or "",
                    qname.localname,
                    etree.tostring(element, with_tail=False).decode(),
                )
            )
            doomed.append(element)
            continue
        for key in list(element.attrib):
            attribute = etree.QName(key)
            namespace = attribute.namespace
            if namespace is None or namespace in _XML_ATTRIBUTE_NAMESPACES:
                continue
            if _foreign(namespace):
                found.append(
                    Extension(
                        readable_path(element),
                        namespace,
                        attribute.localname,
                        element.attrib[key],
                        attribute=True,
                    )
                )
                del element.attrib[key]
    for element in doomed:
        parent = element.getparent()
        if parent is not None:
            _keep_tail(element)
            parent.remove(element)
    return tuple(found)


def _inside(element: etree._Element, ancestor: etree._Element) -> bool:
    node = element.getparent()
    while node is not None:
        if node is ancestor:
            return True
        node = node.getparent()
    return False


def _keep_tail(element: etree._Element) -> None:
    """Removing an element drops its tail text; move it to the previous node so the
    surrounding text (whitespace between elements, in practice) stays as it was."""
    if not element.tail:
        return
    previous = element.getprevious()
    parent = element.getparent()
    if previous is not None:
        previous.tail = (previous.tail or "") + element.tail
    elif parent is not None:
        parent.text = (parent.text or "") + element.tail
