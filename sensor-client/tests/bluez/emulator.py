#!/usr/bin/env python3
"""An emulated BlueZ 5 on a D-Bus bus, for testing the SensorTag client without
hardware.

It owns ``org.bluez`` on the bus at ``--bus`` and exports what the client talks to:
adapter ``hci0`` (power, discovery filter, start and stop discovery, one discovery
per client as BlueZ allows), a "CC2650 SensorTag" device that appears once
discovery runs, and, once it is connected, the tag's five sensor services with
their data (notify), configuration and period characteristics. A data
characteristic notifies its payload every period once its sensor is switched on
and notifications are started.

The test drives it through standard input, one command a line, and reads one JSON
line in answer to each:

    payload <sensor> <hex>   what <sensor> (ir, humidity, barometer, optical,
                             movement) notifies from now on
    drop                     the link drops: Connected and ServicesResolved go false
    ghost                    the next discovery first shows a device that vanishes as
                             soon as it has been listed, before its properties are read
    stats                    counts of discoveries started and stopped, connections
                             and notifications, and whether discovery runs

It writes ``{"ready": true}`` once it owns its name.
"""

import argparse
import asyncio
import json
import logging
import sys

from dbus_next import BusType, DBusError, Variant
from dbus_next.aio import MessageBus
from dbus_next.constants import PropertyAccess
from dbus_next.service import ServiceInterface, dbus_property, method

ADAPTER = "/org/bluez/hci0"
TAG_ADDRESS = "A0:E6:F8:B6:D2:01"
GHOST_ADDRESS = "C0:FF:EE:00:00:01"
SENSORS = {"ir": 0xAA00, "humidity": 0xAA20, "barometer": 0xAA40, "optical": 0xAA70, "movement": 0xAA80}
# Room-temperature payloads, as a tag on a desk notifies them.
DEFAULT_PAYLOADS = {
    "ir": "800cc00b",          # 25 °C object, 23.5 °C die
    "humidity": "66660380",    # 26 °C, 50 %
    "barometer": "c40900cd8b01",  # 25 °C, 1013.25 hPa
    "optical": "0011",         # 5.12 lux
    "movement": "00" * 18,
}


def ti_uuid(short):
    return f"f000{short:04x}-0451-4000-b000-000000000000"


def device_path(address):
    return f"{ADAPTER}/dev_{address.replace(':', '_')}"


class Stats:
    def __init__(self):
        self.discoveries_started = 0
        self.discoveries_stopped = 0
        self.connects = 0
        self.notifications = 0
        self.discovering = False


class Adapter(ServiceInterface):
    def __init__(self, emulator):
        super().__init__("org.bluez.Adapter1")
        self.emulator = emulator
        self._powered = False

    @dbus_property(access=PropertyAccess.READ)
    def Address(self) -> "s":
        return "00:1A:7D:DA:71:13"

    @dbus_property(access=PropertyAccess.READ)
    def AddressType(self) -> "s":
        return "public"

    @dbus_property(access=PropertyAccess.READ)
    def Name(self) -> "s":
        return "emulated"

    @dbus_property(access=PropertyAccess.READ)
    def Alias(self) -> "s":
        return "emulated"

    @dbus_property(access=PropertyAccess.READ)
    def Class(self) -> "u":
        return 0

    @dbus_property()
    def Powered(self) -> "b":
        return self._powered

    @Powered.setter
    def Powered(self, value: "b"):
        self._powered = value
        self.emit_properties_changed({"Powered": value})

    @dbus_property(access=PropertyAccess.READ)
    def Discoverable(self) -> "b":
        return False

    @dbus_property(access=PropertyAccess.READ)
    def Pairable(self) -> "b":
        return False

    @dbus_property(access=PropertyAccess.READ)
    def Discovering(self) -> "b":
        return self.emulator.stats.discovering

    @dbus_property(access=PropertyAccess.READ)
    def UUIDs(self) -> "as":
        return []

    @dbus_property(access=PropertyAccess.READ)
    def Modalias(self) -> "s":
        return "usb:v1D6Bp0246d0540"

    @method()
    def SetDiscoveryFilter(self, properties: "a{sv}"):
        pass

    @method()
    def GetDiscoveryFilters(self) -> "as":
        return ["UUIDs", "RSSI", "Pathloss", "Transport", "DuplicateData"]

    @method()
    def StartDiscovery(self):
        stats = self.emulator.stats
        if stats.discovering:
            # BlueZ runs one discovery per client.
            raise DBusError("org.bluez.Error.InProgress", "Operation already in progress")
        if not self._powered:
            raise DBusError("org.bluez.Error.NotReady", "Resource Not Ready")
        stats.discovering = True
        stats.discoveries_started += 1
        self.emit_properties_changed({"Discovering": True})
        self.emulator.discovery_started()

    @method()
    def StopDiscovery(self):
        stats = self.emulator.stats
        if not stats.discovering:
            raise DBusError("org.bluez.Error.Failed", "No discovery started")
        stats.discovering = False
        stats.discoveries_stopped += 1
        self.emit_properties_changed({"Discovering": False})

    @method()
    def RemoveDevice(self, device: "o"):
        pass


class Device(ServiceInterface):
    def __init__(self, emulator, address, name, on_listed=None):
        super().__init__("org.bluez.Device1")
        self.emulator = emulator
        self.address = address
        # Not `name`: a ServiceInterface's `name` is its interface's.
        self.label = name
        self.connected = False
        self.resolved = False
        self.on_listed = on_listed

    def listed(self):
        if self.on_listed:
            asyncio.get_running_loop().call_soon(self.on_listed)

    @dbus_property(access=PropertyAccess.READ)
    def Address(self) -> "s":
        self.listed()
        return self.address

    @dbus_property(access=PropertyAccess.READ)
    def AddressType(self) -> "s":
        return "public"

    @dbus_property(access=PropertyAccess.READ)
    def Name(self) -> "s":
        return self.label

    @dbus_property(access=PropertyAccess.READ)
    def Alias(self) -> "s":
        return self.label

    @dbus_property(access=PropertyAccess.READ)
    def Adapter(self) -> "o":
        return ADAPTER

    @dbus_property(access=PropertyAccess.READ)
    def Paired(self) -> "b":
        return False

    @dbus_property(access=PropertyAccess.READ)
    def Trusted(self) -> "b":
        return False

    @dbus_property(access=PropertyAccess.READ)
    def Blocked(self) -> "b":
        return False

    @dbus_property(access=PropertyAccess.READ)
    def LegacyPairing(self) -> "b":
        return False

    @dbus_property(access=PropertyAccess.READ)
    def RSSI(self) -> "n":
        return -52

    @dbus_property(access=PropertyAccess.READ)
    def Connected(self) -> "b":
        return self.connected

    @dbus_property(access=PropertyAccess.READ)
    def ServicesResolved(self) -> "b":
        return self.resolved

    @dbus_property(access=PropertyAccess.READ)
    def UUIDs(self) -> "as":
        return [ti_uuid(base) for base in SENSORS.values()]

    @method()
    def Connect(self):
        if self.address != TAG_ADDRESS:
            raise DBusError("org.bluez.Error.Failed", "le-connection-abort-by-local")
        self.emulator.stats.connects += 1
        self.emulator.export_gatt(self)
        self.connected = True
        self.emit_properties_changed({"Connected": True})
        self.resolved = True
        self.emit_properties_changed({"ServicesResolved": True})

    @method()
    def Disconnect(self):
        self.drop()

    def drop(self):
        if self.connected:
            self.connected = False
            self.resolved = False
            self.emit_properties_changed({"Connected": False, "ServicesResolved": False})
        self.emulator.stop_notifying()


class Service(ServiceInterface):
    def __init__(self, uuid, device):
        super().__init__("org.bluez.GattService1")
        self.uuid = uuid
        self.device = device

    @dbus_property(access=PropertyAccess.READ)
    def UUID(self) -> "s":
        return self.uuid

    @dbus_property(access=PropertyAccess.READ)
    def Primary(self) -> "b":
        return True

    @dbus_property(access=PropertyAccess.READ)
    def Device(self) -> "o":
        return self.device


class Characteristic(ServiceInterface):
    def __init__(self, emulator, sensor, role, uuid, service, flags):
        super().__init__("org.bluez.GattCharacteristic1")
        self.emulator = emulator
        self.sensor = sensor
        self.role = role
        self.uuid = uuid
        self.service = service
        self.flags = flags
        self.value = b""
        self.notifying = False

    @dbus_property(access=PropertyAccess.READ)
    def UUID(self) -> "s":
        return self.uuid

    @dbus_property(access=PropertyAccess.READ)
    def Service(self) -> "o":
        return self.service

    @dbus_property(access=PropertyAccess.READ)
    def Flags(self) -> "as":
        return self.flags

    @dbus_property(access=PropertyAccess.READ)
    def Notifying(self) -> "b":
        return self.notifying

    @dbus_property(access=PropertyAccess.READ)
    def Value(self) -> "ay":
        return self.value

    @method()
    def ReadValue(self, options: "a{sv}") -> "ay":
        return self.value

    @method()
    def WriteValue(self, value: "ay", options: "a{sv}"):
        if not self.emulator.tag.connected:
            raise DBusError("org.bluez.Error.Failed", "Not connected")
        self.value = bytes(value)
        self.emulator.configured(self.sensor, self.role, self.value)

    @method()
    def StartNotify(self):
        if not self.emulator.tag.connected:
            raise DBusError("org.bluez.Error.Failed", "Not connected")
        self.notifying = True
        self.emit_properties_changed({"Notifying": True})

    @method()
    def StopNotify(self):
        self.notifying = False
        self.emit_properties_changed({"Notifying": False})

    def notify(self, payload):
        self.value = payload
        self.emit_properties_changed({"Value": payload})


class Emulator:
    def __init__(self, bus):
        self.bus = bus
        self.stats = Stats()
        self.tag = Device(self, TAG_ADDRESS, "CC2650 SensorTag")
        self.ghost_next = False
        self.gatt = None
        self.payloads = {s: bytes.fromhex(p) for s, p in DEFAULT_PAYLOADS.items()}
        self.enabled = {}
        self.periods = {}
        self.tasks = {}

    def discovery_started(self):
        loop = asyncio.get_running_loop()
        if self.ghost_next:
            self.ghost_next = False
            path = device_path(GHOST_ADDRESS)
            ghost = Device(self, GHOST_ADDRESS, "Phone")
            self.bus.export(path, ghost)
            # Armed once exported (exporting reads its properties for InterfacesAdded):
            # the first listing is the last.
            ghost.on_listed = lambda: self.vanish(path, ghost)
        # The tag advertises a little later, after a first look at what is around.
        loop.call_later(0.8, self.show_tag)

    def show_tag(self):
        path = device_path(TAG_ADDRESS)
        if path not in self.bus._path_exports:
            self.bus.export(path, self.tag)

    def vanish(self, path, device):
        if path in self.bus._path_exports:
            self.bus.unexport(path, device)

    def export_gatt(self, device):
        if self.gatt is not None:
            return
        self.gatt = {}
        dev = device_path(device.address)
        handle = 0x20
        for sensor, base in SENSORS.items():
            spath = f"{dev}/service{handle:04x}"
            self.bus.export(spath, Service(ti_uuid(base), dev))
            for role, offset, flags in (("data", 1, ["read", "notify"]),
                                        ("config", 2, ["read", "write"]),
                                        ("period", 3, ["read", "write"])):
                handle += 2
                char = Characteristic(self, sensor, role, ti_uuid(base + offset), spath, flags)
                self.bus.export(f"{spath}/char{handle:04x}", char)
                self.gatt[(sensor, role)] = char
            handle += 4

    def configured(self, sensor, role, value):
        if role == "config":
            self.enabled[sensor] = any(value)
        elif role == "period" and value:
            self.periods[sensor] = value[0] * 0.01
        if self.enabled.get(sensor) and sensor not in self.tasks:
            self.tasks[sensor] = asyncio.get_running_loop().create_task(self.stream(sensor))

    async def stream(self, sensor):
        char = self.gatt[(sensor, "data")]
        while self.tag.connected:
            await asyncio.sleep(self.periods.get(sensor, 1.0))
            if self.tag.connected and char.notifying and self.enabled.get(sensor):
                char.notify(self.payloads[sensor])
                self.stats.notifications += 1
        self.tasks.pop(sensor, None)

    def stop_notifying(self):
        for (_, role), char in (self.gatt or {}).items():
            if role == "data":
                char.notifying = False
        self.enabled.clear()

    def command(self, line):
        words = line.split()
        if not words:
            return {"error": "empty command"}
        if words[0] == "payload" and len(words) == 3 and words[1] in SENSORS:
            self.payloads[words[1]] = bytes.fromhex(words[2])
            return {"ok": True}
        if words[0] == "drop":
            self.tag.drop()
            return {"ok": True}
        if words[0] == "ghost":
            self.ghost_next = True
            return {"ok": True}
        if words[0] == "stats":
            return vars(self.stats)
        return {"error": f"unknown command {line!r}"}


async def main():
    # A call on the vanished device is answered UnknownObject, as BlueZ answers it;
    # dbus-next also logs it as an error of its own.
    logging.getLogger().addFilter(lambda r: "no interfaces at path" not in r.getMessage())
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bus", required=True, help="the D-Bus address to serve org.bluez on")
    args = parser.parse_args()
    bus = await MessageBus(bus_address=args.bus, bus_type=BusType.SYSTEM).connect()
    emulator = Emulator(bus)
    bus.export(ADAPTER, Adapter(emulator))
    await bus.request_name("org.bluez")
    print(json.dumps({"ready": True}), flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        print(json.dumps(emulator.command(line.decode().strip())), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
