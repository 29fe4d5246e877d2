// The one translation unit that defines gSOAP's global namespaces[] table (libgsoapssl++
// refers to it). The table comes from the code generated out of wsdl/sekds.wsdl.
#include "soapH.h"
#include "SekdsSoap11.nsmap"
